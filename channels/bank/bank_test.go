package bank_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/lianban/lianban/channels/bank"
	"github.com/lianban/lianban/channels/bank/bankfake"
	"github.com/lianban/lianban/models"
)

func request(no string) models.BankTransferRequest {
	return models.BankTransferRequest{TransferNo: no, Amount: 12345, BankName: "中国工商银行", AccountName: "张三明",
		AccountNo: "6222020200112233445", Memo: "社会保险费退费"}
}

func TestATransferIsPaidOnceHoweverOftenItIsSent(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	for i := 0; i < 3; i++ {
		res, err := c.Transfer(context.Background(), request("T1"))
		if err != nil || res.State != models.RefundSuccess || res.At.IsZero() {
			t.Fatalf("attempt %d: %+v %v", i, res, err)
		}
	}
	if f.PaidCount() != 1 || f.PaidTotal() != 12345 {
		t.Fatalf("paid %d transfers, %d fen", f.PaidCount(), f.PaidTotal())
	}
}

func TestADroppedAnswerIsPendingAndTheQueryFindsTheMoneyPaid(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.FailNext("transfer", bankfake.Fault{Drop: true})
	res, err := c.Transfer(context.Background(), request("T2"))
	if !errors.Is(err, models.ErrUnavailable) || res.State != models.RefundPending {
		t.Fatalf("dropped answer: %+v %v", res, err)
	}
	q, err := c.QueryTransfer(context.Background(), "T2")
	if err != nil || q.State != models.RefundSuccess {
		t.Fatalf("query: %+v %v", q, err)
	}
	if f.PaidCount() != 1 {
		t.Fatalf("paid %d", f.PaidCount())
	}
}

func TestAnUnknownNumberIsNotFoundSoSendingItAgainIsSafe(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.FailNext("transfer", bankfake.Fault{DropBefore: true})
	if res, err := c.Transfer(context.Background(), request("T3")); !errors.Is(err, models.ErrUnavailable) || res.State != models.RefundPending {
		t.Fatalf("dropped request: %+v %v", res, err)
	}
	if _, err := c.QueryTransfer(context.Background(), "T3"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("query of a transfer never received: %v", err)
	}
	if res, err := c.Transfer(context.Background(), request("T3")); err != nil || res.State != models.RefundSuccess {
		t.Fatalf("resend: %+v %v", res, err)
	}
	if f.PaidCount() != 1 {
		t.Fatalf("paid %d", f.PaidCount())
	}
}

func TestProcessingIsPendingUntilTheBankFinishes(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.FailNext("transfer", bankfake.Fault{Processing: true})
	if res, err := c.Transfer(context.Background(), request("T4")); err != nil || res.State != models.RefundPending {
		t.Fatalf("processing: %+v %v", res, err)
	}
	if q, err := c.QueryTransfer(context.Background(), "T4"); err != nil || q.State != models.RefundSuccess {
		t.Fatalf("query: %+v %v", q, err)
	}
}

func TestARefusedAccountFailsAndMovesNothing(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.FailNext("transfer", bankfake.Fault{Refuse: "ACCOUNT_NOT_FOUND"})
	res, err := c.Transfer(context.Background(), request("T5"))
	if res.State != models.RefundFailed || !errors.Is(err, models.ErrBankAccountInvalid) {
		t.Fatalf("refused: %+v %v", res, err)
	}
	if f.PaidTotal() != 0 {
		t.Fatal("a refused transfer moved money")
	}
}

func TestUnsignedOrForgedAnswersAreNeverReadAsResults(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	f.FailNext("transfer", bankfake.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"})
	if res, err := c.Transfer(context.Background(), request("T6")); !errors.Is(err, models.ErrUnavailable) || res.State != models.RefundPending {
		t.Fatalf("proxy page: %+v %v", res, err)
	}
	f.FailNext("transfer", bankfake.Fault{Refuse: "ACCOUNT_NOT_FOUND", BadSignature: true})
	if res, err := c.Transfer(context.Background(), request("T7")); !errors.Is(err, models.ErrUnavailable) || res.State != models.RefundPending {
		t.Fatalf("forged answer: %+v %v", res, err)
	}
}

func TestTheSameNumberWithOtherDetailsIsAConflictNotASecondTransfer(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c := f.Client()
	if _, err := c.Transfer(context.Background(), request("T8")); err != nil {
		t.Fatal(err)
	}
	other := request("T8")
	other.Amount = 99999
	res, err := c.Transfer(context.Background(), other)
	if res.State != models.RefundPending || !errors.Is(err, models.ErrInternal) {
		t.Fatalf("conflict: %+v %v", res, err)
	}
	if f.PaidTotal() != 12345 {
		t.Fatalf("paid %d", f.PaidTotal())
	}
}

func TestAClientWithTheWrongKeyIsRefusedAndLearnsNothing(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	cfg := f.Config(time.Second)
	cfg.Key = make([]byte, 32)
	c, err := bank.New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Transfer(context.Background(), request("T9"))
	if res.State != models.RefundPending || err == nil {
		t.Fatalf("wrong key: %+v %v", res, err)
	}
	if f.PaidTotal() != 0 {
		t.Fatal("an unsigned request moved money")
	}
}

func TestATimeoutIsPending(t *testing.T) {
	f := bankfake.NewForTest(t, nil)
	c, err := bank.New(f.Config(200*time.Millisecond), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.FailNext("transfer", bankfake.Fault{Delay: time.Second})
	res, err := c.Transfer(context.Background(), request("T10"))
	if !errors.Is(err, models.ErrUnavailable) || res.State != models.RefundPending {
		t.Fatalf("timeout: %+v %v", res, err)
	}
}
