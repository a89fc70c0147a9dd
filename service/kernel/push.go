package kernel

import (
	"context"
	"time"

	"github.com/lianban/lianban/models"
)

// pushTimeout bounds a push to a channel's message API; pushes happen
// after the money is settled and never hold up an acknowledgement.
const pushTimeout = 5 * time.Second

// PushTo sends one message to a user through their login channel in the
// background, so a slow push never holds up the acknowledgement of a
// settled payment; push (messages.go) logs what fails.
func (s *Kernel) PushTo(ctx context.Context, userID string, msg models.Message) {
	if len(s.Messengers) == 0 {
		// No channel can push: spare the goroutine and its read of the
		// user (which on SQLite queued behind the settling writer).
		return
	}
	go func() {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
		defer cancel()
		s.Push(pctx, []PendingPush{{UserID: userID, Msg: msg}})
	}()
}
