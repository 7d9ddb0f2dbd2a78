// Command tdev-witness runs the transparency-dev witness's own code against VaultMesh, both
// directions of c2sp.org/tlog-witness:
//
//   - as a client: requests of kind "push" go through the witness's HTTP client
//     (github.com/transparency-dev/witness/client/http, what its feeders use) to a witness URL —
//     ours — and the cosignature lines it returns are checked with
//     github.com/transparency-dev/formats's cosignature/v1 verifier;
//   - as a server: `tdev-witness serve` runs the witness (package witness: its Update logic and
//     its tlog-witness HTTP handler) over its in-memory persistence on a loopback port, for logs
//     given as C2SP vkeys, cosigning with a fresh cosignature/v1 key. It prints one JSON line
//     {"url": ..., "vkey": ...} and serves until its standard input closes.
//
// Without arguments it reads a JSON array of requests on stdin and writes a JSON array of
// results on stdout, one per request, in order (as hack/tlog-verifiers does). Sizes travel as
// decimal strings, hashes as standard base64. A request that fails yields {"ok": false,
// "error": "..."}; a push the witness refused also names the client's error in "refusal"
// (ErrCheckpointStale, ErrInvalidProof, ...).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	tlog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	whttp "github.com/transparency-dev/witness/client/http"
	"github.com/transparency-dev/witness/config"
	"github.com/transparency-dev/witness/persistence/inmemory"
	"github.com/transparency-dev/witness/witness"
	"golang.org/x/mod/sumdb/note"
)

// request is the union of every request kind; Kind selects which fields are read.
type request struct {
	Kind string `json:"kind"`
	// keygen
	Name string `json:"name"`
	// sign
	Skey string `json:"skey"`
	Text string `json:"text"`
	// push
	URL     string   `json:"url"`
	OldSize string   `json:"oldSize"`
	Proof   []string `json:"proof"`
	// push, verify: the signed checkpoint
	Note string `json:"note"`
	// push, verify: the log's vkey, and the witnesses whose cosignatures must verify
	Vkey      string   `json:"vkey"`
	Cosigners []string `json:"cosigners"`
}

type sig struct {
	Name      string `json:"name"`
	KeyHash   string `json:"keyHash"`
	Timestamp *int64 `json:"timestamp,omitempty"`
}

type result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// push: the client's error for a refusal, and the size a 409 named
	Refusal string `json:"refusal,omitempty"`
	Size    string `json:"size,omitempty"`
	// push: the witness's answer (its cosignature lines)
	Cosignature string `json:"cosignature,omitempty"`
	// push, verify: the checkpoint's verified signatures (log and cosigners)
	Sigs []sig  `json:"sigs,omitempty"`
	Root string `json:"root,omitempty"`
	// keygen, sign
	Skey       string `json:"skey,omitempty"`
	Vkey       string `json:"vkey,omitempty"`
	SignedNote string `json:"signedNote,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "tdev-witness serve: %v\n", err)
			os.Exit(1)
		}
		return
	}
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintf(os.Stderr, "tdev-witness: stdin: expected a JSON array of requests: %v\n", err)
		os.Exit(2)
	}
	out := make([]result, len(reqs))
	for i, r := range reqs {
		res, err := handle(r)
		if err != nil {
			res.Error = err.Error()
		} else {
			res.OK = true
		}
		out[i] = res
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}

func handle(r request) (result, error) {
	switch r.Kind {
	case "keygen":
		skey, vkey, err := note.GenerateKey(rand.Reader, r.Name)
		return result{Skey: skey, Vkey: vkey}, err
	case "sign":
		return sign(r)
	case "push":
		return push(r)
	case "verify":
		return verify(r.Note, r.Vkey, r.Cosigners)
	}
	return result{}, fmt.Errorf("unknown request kind %q", r.Kind)
}

func sign(r request) (result, error) {
	s, err := note.NewSigner(r.Skey)
	if err != nil {
		return result{}, fmt.Errorf("skey: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: r.Text}, s)
	return result{SignedNote: string(signed)}, err
}

// refusals are the witness client's errors for each refusal, by name.
var refusals = []struct {
	name string
	err  error
}{
	{"ErrCheckpointStale", witness.ErrCheckpointStale},
	{"ErrUnknownLog", witness.ErrUnknownLog},
	{"ErrNoValidSignature", witness.ErrNoValidSignature},
	{"ErrOldSizeInvalid", witness.ErrOldSizeInvalid},
	{"ErrInvalidProof", witness.ErrInvalidProof},
	{"ErrRootMismatch", witness.ErrRootMismatch},
	{"ErrPushback", witness.ErrPushback},
}

// push sends one checkpoint with the witness's HTTP client; an accepted one's cosignature lines
// are appended to the note and the whole is verified with formats (log key and cosigners).
func push(r request) (result, error) {
	base, err := url.Parse(r.URL)
	if err != nil {
		return result{}, fmt.Errorf("url: %w", err)
	}
	oldSize, err := strconv.ParseUint(r.OldSize, 10, 64)
	if err != nil {
		return result{}, fmt.Errorf("oldSize: %w", err)
	}
	proof := make([][]byte, len(r.Proof))
	for i, p := range r.Proof {
		if proof[i], err = base64.StdEncoding.DecodeString(p); err != nil {
			return result{}, fmt.Errorf("proof[%d]: %w", i, err)
		}
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		// A witness that redirects is refused, as a POST must not be replayed elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cosig, size, err := whttp.NewWitness(base, client).Update(ctx, oldSize, []byte(r.Note), proof)
	if err != nil {
		for _, e := range refusals {
			if errors.Is(err, e.err) {
				return result{OK: true, Refusal: e.name, Size: strconv.FormatUint(size, 10)}, nil
			}
		}
		return result{}, err
	}
	// The answer is signature lines only: append them to the note's own and verify the whole.
	v, err := verify(r.Note+string(cosig), r.Vkey, r.Cosigners)
	if err != nil {
		return result{Cosignature: string(cosig)}, fmt.Errorf("cosigned checkpoint: %w", err)
	}
	v.Cosignature = string(cosig)
	return v, nil
}

// verify checks a checkpoint with formats's log.ParseCheckpoint: the log's vkey (Ed25519), the
// origin being the key's name, and every cosigner's cosignature/v1 (which must be present).
func verify(signed, vkey string, cosigners []string) (result, error) {
	logV, err := note.NewVerifier(vkey)
	if err != nil {
		return result{}, fmt.Errorf("vkey: %w", err)
	}
	var cs []note.Verifier
	for _, k := range cosigners {
		c, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return result{}, fmt.Errorf("cosigner %q: %w", k, err)
		}
		cs = append(cs, c)
	}
	cp, _, n, err := tlog.ParseCheckpoint([]byte(signed), logV.Name(), logV, cs...)
	if err != nil {
		return result{}, err
	}
	res := result{Size: strconv.FormatUint(cp.Size, 10), Root: base64.StdEncoding.EncodeToString(cp.Hash)}
	for _, c := range cs {
		found := false
		for _, s := range n.Sigs {
			if s.Name == c.Name() && s.Hash == c.KeyHash() {
				found = true
			}
		}
		if !found {
			return result{}, fmt.Errorf("no verified cosignature by %s", c.Name())
		}
	}
	for _, s := range n.Sigs {
		e := sig{Name: s.Name, KeyHash: fmt.Sprintf("%08x", s.Hash)}
		if t, err := fnote.CoSigV1Timestamp(s); err == nil && s.Name != logV.Name() {
			ts := t.Unix()
			e.Timestamp = &ts
		}
		res.Sigs = append(res.Sigs, e)
	}
	return res, nil
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// serve runs the transparency-dev witness for the logs of the --log-vkey flags.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("name", "tdev.test/witness", "the witness's key name")
	var vkeys repeated
	fs.Var(&vkeys, "log-vkey", "a log's C2SP Ed25519 vkey, its name being the log's origin (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	p := inmemory.New()
	var logs []config.Log
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return fmt.Errorf("--log-vkey %q: %w", k, err)
		}
		logs = append(logs, config.Log{VKey: k, Verifier: v, Origin: v.Name()})
	}
	if err := p.AddLogs(ctx, logs); err != nil {
		return err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return err
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return err
	}
	cosigVkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		return err
	}
	w, err := witness.New(ctx, witness.Opts{
		Persistence: p,
		Signers:     []note.Signer{signer},
		VerifierForLog: func(ctx context.Context, origin string) (note.Verifier, bool, error) {
			l, ok, err := p.Log(ctx, origin)
			return l.Verifier, ok, err
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", witness.NewHTTPHandler(w).AddCheckpoint)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	line, _ := json.Marshal(map[string]string{"url": "http://" + ln.Addr().String(), "vkey": cosigVkey})
	fmt.Println(string(line))
	// Serve until the parent closes our standard input (or exits).
	_, _ = io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}
