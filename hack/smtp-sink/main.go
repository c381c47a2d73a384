// Command smtp-sink is the mail server of the notification tests: it accepts mail on a
// loopback address (SMTP, with optional PLAIN authentication) and writes each message, with
// its envelope, as a JSON file into a directory, where a test reads it.
//
//	smtp-sink -dir DIR [-listen 127.0.0.1:0] [-username U -password P]
//
// It prints "listening ADDRESS" on stdout once it accepts connections. Each message becomes
// DIR/NNNNNN.json: {"from", "to": [...], "authUser", "data"} (the password is never written).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

type message struct {
	From     string   `json:"from"`
	To       []string `json:"to"`
	AuthUser string   `json:"authUser"`
	Data     string   `json:"data"`
}

type backend struct {
	dir      string
	username string
	password string
	mu       sync.Mutex
	count    int
}

// write stores one message as the next numbered file, whole (written aside, then renamed).
func (b *backend) write(m message) error {
	b.mu.Lock()
	b.count++
	n := b.count
	b.mu.Unlock()
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	final := filepath.Join(b.dir, fmt.Sprintf("%06d.json", n))
	if err := os.WriteFile(final+".tmp", data, 0o644); err != nil {
		return err
	}
	return os.Rename(final+".tmp", final)
}

func (b *backend) NewSession(_ *smtp.Conn) (smtp.Session, error) {
	return &session{backend: b}, nil
}

type session struct {
	backend *backend
	authed  string
	current message
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}

func (s *session) AuthMechanisms() []string {
	if s.backend.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.backend.username || password != s.backend.password {
			return errors.New("invalid username or password")
		}
		s.authed = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.backend.username != "" && s.authed == "" {
		return errAuthRequired
	}
	s.current = message{From: from, AuthUser: s.authed}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.current.To = append(s.current.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.current.Data = string(data)
	return s.backend.write(s.current)
}

func (s *session) Reset() { s.current = message{AuthUser: s.authed} }

func (s *session) Logout() error { return nil }

func main() {
	dir := flag.String("dir", "", "directory the messages are written to (required)")
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to accept mail on")
	username := flag.String("username", "", "require PLAIN authentication with this username")
	password := flag.String("password", "", "the password that goes with -username")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "smtp-sink: -dir is required")
		os.Exit(2)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "smtp-sink: -listen must be a loopback address such as 127.0.0.1:0")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "smtp-sink: failed to create the directory:", err)
		os.Exit(1)
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtp-sink: failed to listen:", err)
		os.Exit(1)
	}
	server := smtp.NewServer(&backend{dir: *dir, username: *username, password: *password})
	server.Domain = "localhost"
	// Loopback only: PLAIN over a plain connection is what the tests exercise.
	server.AllowInsecureAuth = true
	server.ReadTimeout = 30 * time.Second
	server.WriteTimeout = 30 * time.Second
	server.MaxMessageBytes = 4 << 20
	fmt.Printf("listening %s\n", listener.Addr())
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "smtp-sink: stopped:", err)
		os.Exit(1)
	}
}
