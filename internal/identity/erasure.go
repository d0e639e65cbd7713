package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
)

// CloseErasedPatient disables the account of a patient whose record was just erased and ends
// its sessions: nothing is left for it to open. The erasure itself passed the door (package
// governance records it); this is one of its consequences, not an act of its own. A patient
// with no account is nothing to close.
func (s *Service) CloseErasedPatient(ctx context.Context, patientID string) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var accountID string
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE patient_id = $1 AND role = 'patient'`, patientID).Scan(&accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("identity: close erased patient account: %w", err)
		}
		// Its sign-in names go too: the blind indexes would still answer "was this address a
		// patient's?", and the directory-sealed copies are not under the destroyed keyset.
		bidx := make([]byte, 32)
		rand.Read(bidx)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = $1, email_bidx = $2, phone_bidx = NULL, email_ct = NULL, name_ct = NULL WHERE id = $3`,
			StatusDisabled, bidx, accountID); err != nil {
			return fmt.Errorf("identity: close erased patient account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, deleteSessionsOf, accountID); err != nil {
			return fmt.Errorf("identity: end erased patient's sessions: %w", err)
		}
		return nil
	})
}
