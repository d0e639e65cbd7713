package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// MaxEnvelope and MaxAttachment are the protocol's size limits (docs/e2ee.md §3).
const (
	MaxEnvelope   = 256 << 10
	MaxAttachment = 10 << 20
)

// Posted is the server's answer to a message or attachment it stored.
type Posted struct {
	ID string `json:"id"`
	At string `json:"at,omitempty"`
}

func threadPath(thread string) string { return "/api/v1/threads/" + url.PathEscape(thread) }

// PostEnvelope posts an envelope as it is (already sealed and signed) to thread. Send seals
// and posts; this is the raw write, which a test also uses to post an envelope again.
func (c *Client) PostEnvelope(ctx context.Context, thread string, envelope json.RawMessage) (Posted, error) {
	if len(envelope) > MaxEnvelope {
		return Posted{}, errors.New("client: the message is larger than 256 KiB; send large files as attachments")
	}
	var p Posted
	err := c.do(ctx, "POST", threadPath(thread)+"/messages", envelope, 201, &p)
	return p, err
}

// FetchEnvelopes returns thread's envelopes after the message id after ("" for all), oldest
// first, as the server stored them: unverified until opened.
func (c *Client) FetchEnvelopes(ctx context.Context, thread, after string) ([]json.RawMessage, error) {
	path := threadPath(thread) + "/messages"
	if after != "" {
		path += "?after=" + url.QueryEscape(after)
	}
	var m struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := c.do(ctx, "GET", path, nil, 200, &m); err != nil {
		return nil, err
	}
	return m.Messages, nil
}

// PostAttachment uploads an attachment's ciphertext (encrypted on this device first; see
// SealAttachment) and returns its id.
func (c *Client) PostAttachment(ctx context.Context, thread string, ciphertext []byte) (string, error) {
	if len(ciphertext) > MaxAttachment {
		return "", errors.New("client: the attachment is larger than 10 MiB")
	}
	var p Posted
	if err := c.do(ctx, "POST", threadPath(thread)+"/attachments", ciphertext, 201, &p); err != nil {
		return "", err
	}
	return p.ID, nil
}

// FetchAttachment downloads an attachment's ciphertext.
func (c *Client) FetchAttachment(ctx context.Context, thread, id string) ([]byte, error) {
	raw, err := c.doRaw(ctx, "GET", threadPath(thread)+"/attachments/"+url.PathEscape(id), nil, 200)
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxAttachment+64 {
		return nil, fmt.Errorf("client: attachment %s is larger than the protocol allows", id)
	}
	return raw, nil
}
