package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lianban/lianban/channels/alipay"
	"github.com/lianban/lianban/channels/alipay/alipayfake"
	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/channels/sandbox"
	"github.com/lianban/lianban/channels/wechat"
	"github.com/lianban/lianban/channels/wechat/wechatfake"
	"github.com/lianban/lianban/models"
	"github.com/lianban/lianban/service"
)

// cashierFunc adapts a fake's Pay to service.Cashier.
type cashierFunc func(orderNo string, success bool) error

func (f cashierFunc) Pay(_ context.Context, orderNo string, success bool) error {
	return f(orderNo, success)
}

// wireChannels sets up every login and payment channel. A channel whose
// keys are configured uses them and its configured base URL, sandbox or
// not; in sandbox mode every other channel runs against its in-process
// fake, through the same SDK code as production. Outside sandbox mode an
// unconfigured channel is simply absent.
func wireChannels(ctx context.Context, cfg Config, d *service.Deps, app *App) error {
	hc := &http.Client{Timeout: 15 * time.Second}
	if err := wireWechat(ctx, cfg, d, app, hc); err != nil {
		return err
	}
	if err := wireAlipay(cfg, d, app, hc); err != nil {
		return err
	}
	if err := wireLogins(cfg, d, app, hc); err != nil {
		return err
	}
	if err := wireBank(cfg, d, hc); err != nil {
		return err
	}
	if err := wireBlobs(ctx, cfg, d); err != nil {
		return err
	}
	if !cfg.Sandbox {
		return nil
	}
	sbx := sandbox.NewPay(cfg.PublicURL+"/sandbox/pay/", cfg.PublicURL+"/api/v1/notify/sandbox", d.Clock, hc)
	d.Payments[models.ChannelSandbox] = sbx
	d.Cashiers[models.ChannelSandbox] = sbx
	d.Identity = sandbox.NewRegistry(sandbox.DemoPeople())
	d.UnitRegistry = sandbox.NewUnitRegistry(sandbox.DemoUnits(), sandbox.DemoPeople())
	agency := sandbox.NewAgency(d.Policy, sandbox.DemoPeople())
	d.Contributions, d.MedicalAssessor, d.CivilAffairs = agency, agency, agency
	st := sandbox.Settlement{CreditDelay: cfg.CreditDelay, BookDelay: cfg.BookDelay, Clock: d.Clock}
	d.Treasury, d.Agency = st, st
	return nil
}

func wireWechat(ctx context.Context, cfg Config, d *service.Deps, app *App, hc *http.Client) error {
	wc := wechat.Config{AppID: cfg.WechatAppID, Secret: cfg.WechatSecret, APIBase: cfg.WechatAPIBase,
		OAAppID: cfg.WechatOAAppID, OASecret: cfg.WechatOASecret, OARedirectURIs: splitList(cfg.WechatOARedirectURIs),
		MchID: cfg.WechatPayMchID, MchSerial: cfg.WechatPayMchSerial, APIv3Key: cfg.WechatPayAPIv3Key,
		PubKeyID: cfg.WechatPayPubKeyID, PayAPIBase: cfg.WechatPayAPIBase, NotifyURL: cfg.WechatPayNotifyURL,
		Templates: map[models.MessageKind]string{}, Logger: app.log}
	for kind, tpl := range map[models.MessageKind]string{models.MessagePaymentSucceeded: cfg.WechatTplPaymentSucceeded,
		models.MessageRefundResult: cfg.WechatTplRefundResult, models.MessagePeriodEnding: cfg.WechatTplPeriodEnding} {
		if tpl != "" {
			wc.Templates[kind] = tpl
		}
	}
	if err := wc.LoadKeyFiles(wechat.KeyFiles{MchKey: cfg.WechatPayMchKeyFile, PubKey: cfg.WechatPayPubKeyFile,
		PlatformCerts: cfg.WechatPayPlatformCertFile}); err != nil {
		return fmt.Errorf("wechat pay keys: %w", err)
	}
	mpReal, oaReal, payReal := wc.MiniProgramConfigured(), wc.OfficialAccountConfigured(), wc.PayConfigured()
	if mpReal {
		if err := wc.ValidateMiniProgram(); err != nil {
			return fmt.Errorf("wechat mini-program is partly configured: %w", err)
		}
	}
	if oaReal {
		if err := wc.ValidateOfficialAccount(); err != nil {
			return fmt.Errorf("wechat official account is partly configured: %w", err)
		}
	}
	if payReal {
		if err := wc.ValidatePay(); err != nil {
			return fmt.Errorf("wechat pay is partly configured: %w", err)
		}
	}
	var fake *wechatfake.Server
	if cfg.Sandbox && (!mpReal || !oaReal || !payReal) {
		fake = wechatfake.New(wechatfake.Options{AppID: cfg.WechatAppID, OAAppID: cfg.WechatOAAppID, Logger: app.log})
		fake.Start()
		app.closers = append(app.closers, fake.Close)
		app.log.Info("wechat runs against its in-process fake", "mini_program", !mpReal, "official_account", !oaReal, "pay", !payReal)
	}
	mpCfg, oaCfg, payCfg := wc, wc, wc
	if fake != nil {
		fc := fake.ClientConfig(cfg.PublicURL + "/api/v1/notify/wechatpay")
		fc.Logger, fc.Templates = app.log, wechatfake.DefaultTemplates()
		if !mpReal {
			mpCfg = fc
		}
		if !oaReal {
			oaCfg = fc
			// The fake's authorize page sends people back to the H5,
			// unless other pages are configured.
			oaCfg.OARedirectURIs = wc.OARedirectURIs
			if len(oaCfg.OARedirectURIs) == 0 {
				oaCfg.OARedirectURIs = []string{cfg.PublicURL + "/h5/"}
			}
		}
		if !payReal {
			payCfg = fc
		}
	}
	if oaReal || fake != nil {
		d.Logins[models.ChannelWechatWeb] = wechat.NewOfficialAccount(oaCfg, hc)
	}
	if mpReal || fake != nil {
		mp := wechat.NewMiniProgram(mpCfg, app.redis.Client, hc)
		d.Logins[models.ChannelWechat] = mp
		d.Messengers[models.ChannelWechat] = mp
	}
	if payReal || fake != nil {
		pay, err := wechat.NewPay(ctx, payCfg, hc, d.Clock)
		if err != nil {
			return fmt.Errorf("wechat pay: %w", err)
		}
		d.Payments[models.ChannelWechat] = pay
		if !payReal {
			d.Cashiers[models.ChannelWechat] = cashierFunc(fake.Pay)
		}
	}
	return nil
}

func wireAlipay(cfg Config, d *service.Deps, app *App, hc *http.Client) error {
	ac := alipay.Config{AppID: cfg.AlipayAppID, SellerID: cfg.AlipaySellerID, Gateway: cfg.AlipayGateway,
		NotifyURL: cfg.AlipayNotifyURL, H5RedirectURIs: splitList(cfg.AlipayH5RedirectURIs)}
	if err := ac.LoadKeyFiles(cfg.AlipayPrivateKeyFile, cfg.AlipayPublicKeyFile); err != nil {
		return fmt.Errorf("alipay keys: %w", err)
	}
	if err := ac.LoadCertFiles(cfg.AlipayAppCertFile, cfg.AlipayRootCertFile, cfg.AlipayPublicCertFile); err != nil {
		return fmt.Errorf("alipay certificates: %w", err)
	}
	configured := ac.Configured()
	if configured {
		if err := ac.Validate(); err != nil {
			return fmt.Errorf("alipay is partly configured: %w", err)
		}
	} else if cfg.Sandbox {
		fake := alipayfake.New(alipayfake.Options{Clock: d.Clock})
		fake.Start()
		app.closers = append(app.closers, fake.Close)
		h5 := ac.H5RedirectURIs
		ac = fake.ClientConfig(cfg.PublicURL + "/api/v1/notify/alipay")
		// The fake's authorize page sends people back to the H5, unless
		// other pages are configured.
		ac.H5RedirectURIs = h5
		if len(ac.H5RedirectURIs) == 0 {
			ac.H5RedirectURIs = []string{cfg.PublicURL + "/h5/"}
		}
		d.Cashiers[models.ChannelAlipay] = cashierFunc(fake.Pay)
		app.log.Info("alipay runs against its in-process fake")
	} else {
		return nil
	}
	c, err := alipay.New(ac, hc, d.Clock)
	if err != nil {
		return errors.Join(errors.New("alipay"), err)
	}
	d.Logins[models.ChannelAlipay] = c
	if c.WebLoginConfigured() {
		d.Logins[models.ChannelAlipayWeb] = c.WebLogin()
	}
	d.Payments[models.ChannelAlipay] = c
	return nil
}

// wireBank connects the partner bank's transfer interface when it is
// configured; in sandbox mode wireStaff starts a fake bank otherwise.
func wireBank(cfg Config, d *service.Deps, hc *http.Client) error {
	if cfg.BankURL == "" && cfg.BankMerchant == "" && cfg.BankKey == "" {
		return nil
	}
	if cfg.BankURL == "" || cfg.BankMerchant == "" || cfg.BankKey == "" {
		return errors.New("the bank transfer interface is partly configured: set LIANBAN_BANK_URL, LIANBAN_BANK_MERCHANT and LIANBAN_BANK_KEY")
	}
	key, err := base64.StdEncoding.DecodeString(cfg.BankKey)
	if err != nil {
		return errors.New("LIANBAN_BANK_KEY must be base64")
	}
	c, err := bank.New(bank.Config{BaseURL: cfg.BankURL, MerchantID: cfg.BankMerchant, Key: key}, hc, d.Clock)
	if err != nil {
		return fmt.Errorf("bank: %w", err)
	}
	d.Bank = c
	d.Tripartite = c // 三方协议 debits go through the same partner bank interface
	return nil
}
