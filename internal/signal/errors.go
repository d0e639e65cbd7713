package signal

import "errors"

// Errors of the relay and the socket. Their text is what a person reads in a close reason.
var (
	// ErrVisitFull refuses a fifth device: a call is a mesh of at most MaxDevices.
	ErrVisitFull = errors.New("this call already has four devices connected; ask someone to leave, then join again")
	// ErrReplaced ends a connection whose device joined again on another one.
	ErrReplaced = errors.New("this device joined the call again from another connection")
	// ErrTooSlow ends a connection that did not read its messages in time.
	ErrTooSlow = errors.New("the connection was too slow to keep up; the call reconnects by itself")
	// ErrLeft is a device that left of its own accord.
	ErrLeft = errors.New("left the call")
	// ErrDraining refuses new sockets while the server shuts down.
	ErrDraining = errors.New("the server is restarting; try again in a moment")
	// ErrBadMessage ends a connection that sent something that is not a signalling message.
	ErrBadMessage = errors.New("a message was not a valid signalling message")
	// ErrSessionEnded is a socket's session that is gone when checked again: signed out,
	// revoked, expired, or the account disabled.
	ErrSessionEnded = errors.New("the session has ended")
	// ErrTooFast ends a connection that sent more than the rate limit allows.
	ErrTooFast = errors.New("too many messages too quickly; the call reconnects by itself")
)
