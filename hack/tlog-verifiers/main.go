// Command tlog-verifiers checks VaultMesh's signed notes, checkpoints, cosignatures and Merkle
// proofs with independent Go implementations: golang.org/x/mod/sumdb/note,
// github.com/transparency-dev/formats (log.ParseCheckpoint, the cosignature/v1 verifier) and
// github.com/transparency-dev/merkle (proofs, and roots of given leaves). It also signs with
// them, so the other direction is tested too.
//
// It reads a JSON array of requests on stdin and writes a JSON array of results on stdout, one
// per request, in order. Tree sizes and indexes travel as decimal strings (uint64 does not fit a
// JavaScript number); hashes, keys and signatures as standard base64. A request that fails
// yields {"ok": false, "error": "..."}; the process itself exits 0 unless stdin is unreadable.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	tlog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// request is the union of every request kind; Kind selects which fields are read.
type request struct {
	Kind string `json:"kind"`
	// note, checkpoint, sign
	Note      string   `json:"note"`
	Vkeys     []string `json:"vkeys"`
	Cosigners []string `json:"cosigners"`
	// checkpoint
	Origin string `json:"origin"`
	// consistency, inclusion
	Size1    string   `json:"size1"`
	Size2    string   `json:"size2"`
	Root1    string   `json:"root1"`
	Root2    string   `json:"root2"`
	Index    string   `json:"index"`
	LeafHash string   `json:"leafHash"`
	Proof    []string `json:"proof"`
	// root: the leaves' data, base64
	Leaves []string `json:"leaves"`
	// sign
	Name     string `json:"name"`
	Text     string `json:"text"`
	Cosigner bool   `json:"cosigner"`
}

type sig struct {
	Name    string `json:"name"`
	KeyHash string `json:"keyHash"`
	// Timestamp of a cosignature/v1 signature (POSIX seconds), when the request named it.
	Timestamp *int64 `json:"timestamp,omitempty"`
}

type result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// note, checkpoint
	Text string `json:"text,omitempty"`
	Sigs []sig  `json:"sigs,omitempty"`
	// checkpoint
	Origin string `json:"origin,omitempty"`
	Size   string `json:"size,omitempty"`
	Root   string `json:"root,omitempty"`
	Rest   string `json:"rest,omitempty"`
	// sign
	Vkey       string `json:"vkey,omitempty"`
	SignedNote string `json:"signedNote,omitempty"`
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintf(os.Stderr, "tlog-verifiers: stdin: expected a JSON array of requests: %v\n", err)
		os.Exit(2)
	}
	out := make([]result, len(reqs))
	for i, r := range reqs {
		res, err := handle(r)
		if err != nil {
			res = result{Error: err.Error()}
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
	case "note":
		return openNote(r)
	case "checkpoint":
		return parseCheckpoint(r)
	case "consistency":
		return consistency(r)
	case "inclusion":
		return inclusion(r)
	case "root":
		return root(r)
	case "sign":
		return sign(r)
	}
	return result{}, fmt.Errorf("unknown request kind %q", r.Kind)
}

// verifiers builds sumdb note verifiers for the Ed25519 vkeys and formats' cosignature/v1
// verifiers for the cosigner vkeys.
func verifiers(r request) ([]note.Verifier, error) {
	var vs []note.Verifier
	for _, k := range r.Vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("vkey %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	for _, k := range r.Cosigners {
		v, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return nil, fmt.Errorf("cosigner vkey %q: %w", k, err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// sigs lists a note's verified signatures, with the timestamp of those by cosigners.
func sigs(n *note.Note, cosigners []note.Verifier) ([]sig, error) {
	var out []sig
	for _, s := range n.Sigs {
		e := sig{Name: s.Name, KeyHash: fmt.Sprintf("%08x", s.Hash)}
		for _, c := range cosigners {
			if c.Name() == s.Name && c.KeyHash() == s.Hash {
				t, err := fnote.CoSigV1Timestamp(s)
				if err != nil {
					return nil, fmt.Errorf("cosignature of %s: %w", s.Name, err)
				}
				ts := t.Unix()
				e.Timestamp = &ts
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func cosignerVerifiers(r request) ([]note.Verifier, error) {
	return verifiers(request{Cosigners: r.Cosigners})
}

func openNote(r request) (result, error) {
	vs, err := verifiers(r)
	if err != nil {
		return result{}, err
	}
	n, err := note.Open([]byte(r.Note), note.VerifierList(vs...))
	if err != nil {
		return result{}, err
	}
	cs, err := cosignerVerifiers(r)
	if err != nil {
		return result{}, err
	}
	ss, err := sigs(n, cs)
	if err != nil {
		return result{}, err
	}
	return result{Text: n.Text, Sigs: ss}, nil
}

func parseCheckpoint(r request) (result, error) {
	if len(r.Vkeys) != 1 {
		return result{}, errors.New("checkpoint: exactly one log vkey expected")
	}
	logV, err := note.NewVerifier(r.Vkeys[0])
	if err != nil {
		return result{}, fmt.Errorf("log vkey: %w", err)
	}
	cs, err := cosignerVerifiers(r)
	if err != nil {
		return result{}, err
	}
	cp, rest, n, err := tlog.ParseCheckpoint([]byte(r.Note), r.Origin, logV, cs...)
	if err != nil {
		return result{}, err
	}
	ss, err := sigs(n, cs)
	if err != nil {
		return result{}, err
	}
	return result{
		Origin: cp.Origin,
		Size:   strconv.FormatUint(cp.Size, 10),
		Root:   base64.StdEncoding.EncodeToString(cp.Hash),
		Rest:   string(rest),
		Sigs:   ss,
	}, nil
}

func uint64Field(name, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

func b64Field(name, v string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func hashes(p []string) ([][]byte, error) {
	out := make([][]byte, len(p))
	for i, h := range p {
		b, err := b64Field(fmt.Sprintf("proof[%d]", i), h)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func consistency(r request) (result, error) {
	size1, err := uint64Field("size1", r.Size1)
	if err != nil {
		return result{}, err
	}
	size2, err := uint64Field("size2", r.Size2)
	if err != nil {
		return result{}, err
	}
	root1, err := b64Field("root1", r.Root1)
	if err != nil {
		return result{}, err
	}
	root2, err := b64Field("root2", r.Root2)
	if err != nil {
		return result{}, err
	}
	p, err := hashes(r.Proof)
	if err != nil {
		return result{}, err
	}
	return result{}, proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, p, root1, root2)
}

func inclusion(r request) (result, error) {
	index, err := uint64Field("index", r.Index)
	if err != nil {
		return result{}, err
	}
	size, err := uint64Field("size2", r.Size2)
	if err != nil {
		return result{}, err
	}
	leaf, err := b64Field("leafHash", r.LeafHash)
	if err != nil {
		return result{}, err
	}
	root, err := b64Field("root2", r.Root2)
	if err != nil {
		return result{}, err
	}
	p, err := hashes(r.Proof)
	if err != nil {
		return result{}, err
	}
	return result{}, proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leaf, p, root)
}

// root computes the RFC 6962 Merkle tree hash of r.Leaves (leaf data, not hashes) with a compact
// range, returned in Root.
func root(r request) (result, error) {
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	for i, l := range r.Leaves {
		data, err := b64Field(fmt.Sprintf("leaves[%d]", i), l)
		if err != nil {
			return result{}, err
		}
		if err := cr.Append(rfc6962.DefaultHasher.HashLeaf(data), nil); err != nil {
			return result{}, err
		}
	}
	h, err := cr.GetRootHash(nil)
	if err != nil {
		return result{}, err
	}
	return result{Root: base64.StdEncoding.EncodeToString(h)}, nil
}

// sign makes a fresh Ed25519 key named r.Name and signs r.Text with it — or, given r.Note, adds
// its signature to that note after opening it with r.Vkeys: a plain note signature, or with
// r.Cosigner a cosignature/v1 timestamped now. It returns the vkey (type 0x01, or 0x04 for a
// cosigner) and the signed note.
func sign(r request) (result, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, r.Name)
	if err != nil {
		return result{}, err
	}
	var s note.Signer
	if r.Cosigner {
		cs, err := fnote.NewSignerForCosignatureV1(skey)
		if err != nil {
			return result{}, err
		}
		if vkey, err = fnote.VKeyToCosignatureV1(vkey); err != nil {
			return result{}, err
		}
		s = cs
	} else if s, err = note.NewSigner(skey); err != nil {
		return result{}, err
	}
	n := &note.Note{Text: r.Text}
	if r.Note != "" {
		// Countersign an existing note, keeping the signatures the vkeys verify.
		vs, err := verifiers(request{Vkeys: r.Vkeys})
		if err != nil {
			return result{}, err
		}
		if n, err = note.Open([]byte(r.Note), note.VerifierList(vs...)); err != nil {
			return result{}, err
		}
	}
	signed, err := note.Sign(n, s)
	if err != nil {
		return result{}, err
	}
	return result{Vkey: vkey, SignedNote: string(signed)}, nil
}
