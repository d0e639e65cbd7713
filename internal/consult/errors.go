package consult

import (
	"fmt"

	"haven/internal/fault"
)

// Errors, safe to show.
var (
	// ErrNotFound: no such device, thread, message or attachment, or none the caller may know of.
	ErrNotFound = fault.New(fault.NotFound, "not found")
	// ErrBadKey: a public key that is not 32 bytes of base64url.
	ErrBadKey = fault.InvalidField("signKey", "each key must be a 32-byte public key in base64url without padding (Ed25519 for signKey, X25519 for agreeKey)")
	// ErrTooManyDevices: a person has as many devices as the directory keeps.
	ErrTooManyDevices = fault.New(fault.Conflict, fmt.Sprintf("you have %d devices registered; remove one you no longer use first", maxDevices))
	// ErrUnknownDevice: the device named is not one of the caller's current devices.
	ErrUnknownDevice = fault.InvalidField("device", "this device is not registered to you (or was removed); register it again and retry")
	// ErrEnvelope: an envelope whose header cannot be read.
	ErrEnvelope = fault.InvalidField("envelope", "the message is not a valid envelope (docs/e2ee.md section 3)")
	// ErrWrongThread: the envelope names another thread than the one it is posted to.
	ErrWrongThread = fault.InvalidField("thread", "the envelope names another thread than the one it was sent to")
	// ErrWrongSender: the envelope's sender account is not the caller.
	ErrWrongSender = fault.InvalidField("sender.account", "the envelope's sender is not you; sign in as its sender")
	// ErrReplayedSeq: a (thread, sender device, seq) already stored, or a message id already used.
	ErrReplayedSeq = fault.New(fault.Conflict, "this message was already sent (its sequence number or id is taken); send it again as a new message")
	// ErrEnvelopeTooLarge: an envelope over MaxEnvelopeBytes.
	ErrEnvelopeTooLarge = fault.InvalidField("envelope", fmt.Sprintf("the message is over %d KiB; shorten it or send the file as an attachment", MaxEnvelopeBytes>>10))
	// ErrAttachmentTooLarge: an attachment over MaxAttachmentBytes, or empty.
	ErrAttachmentTooLarge = fault.InvalidField("attachment", fmt.Sprintf("an attachment must be between 1 byte and %d MiB; send a smaller file", MaxAttachmentBytes>>20))
	errUnavailable        = fault.New(fault.Unavailable, "the key directory cannot be proven right now; try again shortly")
)

// ReasonNotOwnDevice is recorded when someone tries to remove or use a device that is not theirs.
const ReasonNotOwnDevice = "not-own-device"
