#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cross-check ferry-tuftool against securesystemslib (the reference Python
implementation used by python-tuf and in-toto).

Usage:  /usr/bin/python3 sslib_crosscheck.py TUFTOOL WORKDIR

Run with Debian's python3 (python3-securesystemslib 0.26,
python3-cryptography 38).  TUFTOOL is the ferry-tuftool binary (see
docs/tuftool.md); WORKDIR is an existing, writable scratch directory.

Groups (each prints one summary line):

  canonical  ~2000 JSON values (fixed seed + hand-picked edge cases),
             canonicalized in batches by `TUFTOOL canonical` and compared
             byte for byte with securesystemslib.formats.encode_canonical().
             Documents holding U+0000 are checked separately: the tool may
             reject them (exit 1) as a policy; if it accepts one, its output
             must match.
  floats     documents with 1.0, 1e3, -0.5, ... : both securesystemslib
             (FormatError) and the tool (exit 1) must refuse them.
  keyid      `TUFTOOL keyid` on {keytype, scheme, keyval:{public}} must equal
             sha256(canonical(that dict)).  securesystemslib 0.26 computes
             its own key ids over a dict that also holds
             "keyid_hash_algorithms", so its key ids are NOT TUF key ids;
             this script uses the plain 3-field key id in all metadata.
  verify     a repository whose keys are made and whose signatures are
             made by securesystemslib (ed25519, ecdsa-sha2-nistp256 with
             keytype "ecdsa" and again with keytype "ecdsa-sha2-nistp256",
             rsassa-pss-sha256) must verify with `TUFTOOL verify`.
  negative   threshold not met, flipped signature byte, one key's signature
             listed twice, signed field changed after signing, wrong role
             type, signature by a key outside the role: verify must exit 1.
  unknown    a key of unknown type ("x-unknown") in root and in a role's
             keyids, with a signature, must be ignored: verify exits 0 when
             the other keys meet the threshold and 1 when they do not.

Exit status: 0 if everything held, 1 otherwise, 2 on usage error.
"""

import copy
import hashlib
import json
import os
import random
import re
import subprocess
import sys

try:
    from securesystemslib import exceptions as sslib_exceptions
    from securesystemslib import formats as sslib_formats
    from securesystemslib import keys as sslib_keys
except ImportError as exc:  # pragma: no cover - the shell wrapper checks this
    sys.stderr.write("sslib_crosscheck: cannot import securesystemslib: %s\n" % exc)
    sys.exit(77)

SEED = 20261123
SPEC_VERSION = "1.0.31"
EXPIRES = "2036-01-01T00:00:00Z"
TOOL_TIMEOUT = 300

TUFTOOL = None
WORKDIR = None


# ---------------------------------------------------------------------------
# bookkeeping


class Group:
    def __init__(self, name):
        self.name = name
        self.checks = 0
        self.failures = 0
        self.notes = []

    def ok(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAIL [%s] %s" % (self.name, what))
        return cond

    def fail(self, what):
        return self.ok(False, what)

    def note(self, what):
        self.notes.append(what)

    def summary(self):
        status = "PASS" if self.failures == 0 else "FAIL"
        line = "%-9s %s: %d checks, %d failed" % (
            self.name, status, self.checks, self.failures)
        if self.notes:
            line += "; " + "; ".join(self.notes)
        return line


def run_tool(args, stdin_bytes=None):
    """Run TUFTOOL with args; return (rc, stdout bytes, stderr text)."""
    try:
        proc = subprocess.run(
            [TUFTOOL] + list(args),
            input=stdin_bytes if stdin_bytes is not None else b"",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=TOOL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, b"", "timed out after %ds" % TOOL_TIMEOUT
    except OSError as exc:
        return -1, b"", "cannot run: %s" % exc
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace").strip()


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, obj, **kw):
    kw.setdefault("ensure_ascii", True)
    write_bytes(path, json.dumps(obj, **kw).encode("utf-8"))


def canon(obj):
    return sslib_formats.encode_canonical(obj).encode("utf-8")


def short(value, limit=300):
    r = repr(value)
    return r if len(r) <= limit else r[:limit] + "...(%d chars)" % len(r)


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n if len(a) != len(b) else -1


# ---------------------------------------------------------------------------
# canonical JSON corpus

CONTROL = [chr(c) for c in range(0x01, 0x20)] + ["\x7f"]
SPECIAL = ['"', "\\", "/"]
ASCII = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:{}[],")
BMP = [
    "\u00e9", "\u00df", "\u00a0", "\u0080", "\u07ff", "\u0800",
    "\u0416", "\u044f", "\u041c", "\u0438\u0440",          # Cyrillic
    "\u4e2d", "\u6587", "\u4e16\u754c",                    # CJK
    "\ufeff", "\u2028", "\u2029", "\ue000", "\ufb01", "\ufffd", "\uffff",
]
ASTRAL = ["\U0001F600", "\U0001F4A9", "\U00010000", "\U0001D11E", "\U0010FFFF"]

EDGE_INTS = [
    0, 1, -1, 9, 10, -10, 127, 128, 255, 256, 2 ** 31 - 1, -(2 ** 31),
    2 ** 32, 2 ** 53, 2 ** 53 + 1, -(2 ** 53 + 1), 10 ** 18,
    2 ** 63 - 1, -(2 ** 63), -(2 ** 63) + 1,
]

SPECIAL_KEYS = [
    "a", "A", "_", "\u00e9", "b", "", "ab", "a\x01", "a\x7f", "B", "z", "~",
    "\uffff", "\U0001F600", "\ue000", "\U00010000", "\ufb01", "\u4e2d",
    '"', "\\", "/", "\x1f", "\x01", "\x7f",
]


def rand_string(rng, allow_nul=False, maxlen=12):
    n = rng.choice([0, 1, 1, 2, 3, 5, 8, maxlen])
    out = []
    for _ in range(n):
        pool = rng.choice([CONTROL, SPECIAL, ASCII, ASCII, BMP, ASTRAL])
        out.append(rng.choice(pool))
    if allow_nul and rng.random() < 0.5:
        pos = rng.randint(0, len(out))
        out.insert(pos, "\x00")
    return "".join(out)


def rand_int(rng):
    r = rng.random()
    if r < 0.3:
        return rng.choice(EDGE_INTS)
    if r < 0.6:
        return rng.randint(-1000, 1000)
    if r < 0.8:
        return rng.randint(-(2 ** 63), 2 ** 63 - 1)
    return rng.randint(-(2 ** 53), 2 ** 53)


def rand_scalar(rng):
    r = rng.random()
    if r < 0.45:
        return rand_string(rng)
    if r < 0.85:
        return rand_int(rng)
    return rng.choice([True, False, None])


def rand_key(rng):
    if rng.random() < 0.4:
        return rng.choice(SPECIAL_KEYS)
    return rand_string(rng, maxlen=6)


def rand_value(rng, depth=1, maxdepth=6):
    """A value whose object/array nesting is at most maxdepth."""
    r = rng.random()
    if depth > maxdepth or r < 0.35:
        return rand_scalar(rng)
    if r < 0.65:
        return [rand_value(rng, depth + 1, maxdepth) for _ in range(rng.randint(0, 5))]
    obj = {}
    for _ in range(rng.randint(0, 6)):
        obj[rand_key(rng)] = rand_value(rng, depth + 1, maxdepth)
    return obj


def nest(value, depth, kind):
    for _ in range(depth):
        value = [value] if kind == "array" else {"a": value}
    return value


def edge_values():
    """Hand-picked values (none holds U+0000)."""
    vals = [
        {}, [], "", [[]], [{}], {"": ""}, {"": {}}, {"a": []}, [[], {}, ""],
        True, False, None, [True, False, None],
        '"\\/', "\\\\\"\"//", "\\u0041", "/\\/", "\\",
        "".join(CONTROL), "".join(SPECIAL), "".join(BMP), "".join(ASTRAL),
        "\u00e9\u00df\u0416\u4e2d\ufeff\u2028\U0001F600",
        "\ufeff", "\u2028", "\u2029", "\U0001F600", "\U0010FFFF", "\uffff",
        EDGE_INTS, [-0, 0], {"n": 2 ** 53 + 1, "m": -(2 ** 63), "x": 2 ** 63 - 1},
        {k: i for i, k in enumerate(SPECIAL_KEYS)},
        {k: i for i, k in enumerate(reversed(SPECIAL_KEYS))},
        # code point / UTF-8 byte order differs from UTF-16 code unit order
        {"\uffff": 1, "\U0001F600": 2},
        {"\U0001F600": 2, "\uffff": 1},
        {"\ue000": 1, "\U0001F600": 2, "\ud7ff": 3, "\U00010000": 4},
        {"a": 1, "A": 2, "_": 3, "\u00e9": 4, "b": 5},
        {"b": 5, "\u00e9": 4, "_": 3, "A": 2, "a": 1},
        {"a": 1, "ab": 2, "a\x01": 3, "a\x7f": 4, "a\u00e9": 5, "aa": 6},
        {"\u00e9": "e-acute precomposed", "e\u0301": "e + combining acute"},
        nest(1, 6, "array"), nest(1, 6, "object"), nest({}, 5, "array"),
        nest([], 5, "object"), nest("\U0001F600", 6, "array"),
        [[[[[{"a": [{"b": {"c": "\u2028"}}]}]]]]],
    ]
    for c in CONTROL:
        vals.append(c)
        vals.append({c: c})
        vals.append("x" + c + "y")
    for c in SPECIAL + BMP + ASTRAL:
        vals.append(c)
        vals.append({c: [c]})
    for i in EDGE_INTS:
        vals.append(i)
        vals.append({"i": i})
    return vals


# Documents holding U+0000, in string values and in object keys.
NUL_VALUES = [
    {"v": "\x00"}, ["\x00"], {"\x00": 1}, {"a\x00b": "c"}, ["x\x00y"],
    {"k": "\x00\x00"}, {"a": "\x00", "a\x00": 1}, ["\U0001F600\x00\u00e9"],
]


def nul_in_key(v):
    if isinstance(v, dict):
        return any("\x00" in k or nul_in_key(x) for k, x in v.items())
    if isinstance(v, list):
        return any(nul_in_key(x) for x in v)
    return False

INDIVIDUAL = [
    {"a": 1, "A": 2, "_": 3, "\u00e9": 4, "b": 5},
    {"\uffff": "ffff", "\U0001F600": "emoji"},
    ["".join(CONTROL), "".join(SPECIAL)],
    {"ints": EDGE_INTS},
    {"": [], "x": {}, "y": ""},
    {"bmp": "".join(BMP), "astral": "".join(ASTRAL)},
    nest({"deep": True}, 6, "object"),
    [None, True, False, 0, -1, ""],
]

# Top-level scalars: RFC 8259 allows them; the tool may or may not accept
# them (exit 1 is reported, not counted as a failure), but any output it
# gives must match.
TOP_SCALARS = ["plain", "\u00e9\U0001F600", 0, -(2 ** 63), 2 ** 63 - 1, True, None]


def locate_element(batch, offset):
    """For an array batch, which element holds byte offset of its encoding."""
    pos = 1
    for idx, v in enumerate(batch):
        enc = canon(v)
        if offset < pos + len(enc):
            return idx, v
        pos += len(enc) + 1
    return None, None


def dumps_variant(value, i):
    """JSON text for value, written by json.dumps with varying options."""
    ensure_ascii = (i % 2 == 0)
    style = (i // 2) % 3
    if style == 0:
        text = json.dumps(value, ensure_ascii=ensure_ascii)
    elif style == 1:
        text = json.dumps(value, ensure_ascii=ensure_ascii, indent=2)
    else:
        text = json.dumps(value, ensure_ascii=ensure_ascii, sort_keys=True,
                          separators=(",", ":"))
    return text.encode("utf-8")


def compare_canonical(g, label, value, text, path, show_value=True):
    """Run the tool on text; compare with sslib.  Returns True if equal."""
    expected = canon(value)
    write_bytes(path, text)
    rc, out, err = run_tool(["canonical", path])
    if rc != 0:
        g.fail("%s: tool exit %d (%s); value %s" % (label, rc, err, short(value)))
        return False
    if out == expected:
        g.ok(True, label)
        return True
    off = first_diff(out, expected)
    lo = max(0, off - 40)
    msg = ["%s: output differs from securesystemslib at byte %d "
           "(tool %d bytes, sslib %d bytes)" % (label, off, len(out), len(expected)),
           "    tool : %r" % out[lo:off + 40],
           "    sslib: %r" % expected[lo:off + 40]]
    if show_value:
        msg.append("    value: %s" % short(value))
    g.fail("\n".join(msg))
    return False


def canonical_mismatch(doc, i, path):
    """Run the tool on doc (written as in batch i).  None if it matches sslib,
    else (rc, stdout, stderr, expected)."""
    write_bytes(path, dumps_variant(doc, i))
    rc, out, err = run_tool(["canonical", path])
    expected = canon(doc)
    if rc == 0 and out == expected:
        return None
    return rc, out, err, expected


def report_minimal(g, doc, i, prefix, budget=80):
    """Shrink a mismatching document to a small one that still mismatches
    (at most budget tool runs) and report it."""
    runs = 0
    res = canonical_mismatch(doc, i, prefix + "-0.json")
    if res is None:
        g.note("batch %d mismatch did not reproduce with the element alone" % i)
        return
    while runs < budget:
        if isinstance(doc, dict):
            children = ([{k: v} for k, v in doc.items()] if len(doc) > 1 else [])
            children += [v for v in doc.values() if isinstance(v, (dict, list))]
        else:
            children = ([[e] for e in doc] if len(doc) > 1 else [])
            children += [e for e in doc if isinstance(e, (dict, list))]
        found = None
        for c in children:
            runs += 1
            r = canonical_mismatch(c, i, "%s-%d.json" % (prefix, runs))
            if r is not None:
                found, res = c, r
                break
            if runs >= budget:
                break
        if found is None:
            break
        doc = found
    rc, out, err, expected = res
    g.fail("  smallest mismatching document found (%d tool runs):\n"
           "    value: %s\n    input: %r\n    tool (exit %d): %r %s\n    sslib: %r"
           % (runs, short(doc, 500), dumps_variant(doc, i)[:500], rc, out[:500],
              err, expected[:500]))


def group_canonical():
    g = Group("canonical")
    rng = random.Random(SEED)
    values = edge_values()
    n_edge = len(values)
    while len(values) < 2050:
        values.append(rand_value(rng))
    # Values stay in a fixed order so a failure is reproducible; the edge
    # cases are spread over the batches.
    order = list(range(len(values)))
    random.Random(SEED + 1).shuffle(order)
    values = [values[i] for i in order]
    per = 50
    batches = [values[i:i + per] for i in range(0, len(values), per)]
    cdir = os.path.join(WORKDIR, "canonical")
    mismatched = 0
    for i, batch in enumerate(batches):
        text = dumps_variant(batch, i)
        path = os.path.join(cdir, "batch-%02d.json" % i)
        expected = canon(batch)
        write_bytes(path, text)
        rc, out, err = run_tool(["canonical", path])
        label = "batch %d (ensure_ascii=%s, %s)" % (
            i, i % 2 == 0, ["compact", "indent=2", "sorted"][(i // 2) % 3])
        if rc != 0:
            g.fail("%s: tool exit %d: %s" % (label, rc, err))
            mismatched += 1
        elif out != expected:
            mismatched += 1
            off = first_diff(out, expected)
            idx, val = locate_element(batch, off)
            lo = max(0, off - 40)
            g.fail("%s: output differs from securesystemslib at byte %d "
                   "(tool %d bytes, sslib %d bytes)\n"
                   "    tool : %r\n    sslib: %r\n    element %s: %s"
                   % (label, off, len(out), len(expected),
                      out[lo:off + 40], expected[lo:off + 40], idx, short(val)))
            if val is not None:
                report_minimal(g, [val], i, os.path.join(cdir, "min-%02d" % i))
        else:
            g.ok(True, label)
        if mismatched >= 5:
            g.fail("stopping canonical batches after 5 mismatching batches")
            break
    # a handful individually, from a file and from stdin
    for j, v in enumerate(INDIVIDUAL):
        for ea in (True, False):
            text = json.dumps(v, ensure_ascii=ea).encode("utf-8")
            compare_canonical(g, "individual %d ensure_ascii=%s" % (j, ea), v, text,
                              os.path.join(cdir, "single-%d-%d.json" % (j, ea)))
    v = INDIVIDUAL[0]
    rc, out, err = run_tool(["canonical"], json.dumps(v, indent=3).encode())
    g.ok(rc == 0 and out == canon(v),
         "canonical from stdin: exit %d, out %r, want %r (%s)" % (rc, out, canon(v), err))
    # top-level scalars
    scalar_rejected = 0
    for j, v in enumerate(TOP_SCALARS):
        path = os.path.join(cdir, "scalar-%d.json" % j)
        write_bytes(path, json.dumps(v).encode())
        rc, out, err = run_tool(["canonical", path])
        if rc == 1:
            scalar_rejected += 1
            continue
        g.ok(rc == 0 and out == canon(v),
             "top-level scalar %s: exit %d, out %r, want %r (%s)"
             % (short(v), rc, out, canon(v), err))
    # documents holding U+0000: reject (policy) or match
    nul = {(k, o): 0 for k in ("key", "value") for o in ("rejected", "matched")}
    for j, v in enumerate(NUL_VALUES):
        where = "key" if nul_in_key(v) else "value"
        for ea in (True, False):
            path = os.path.join(cdir, "nul-%d-%d.json" % (j, ea))
            write_bytes(path, json.dumps(v, ensure_ascii=ea).encode("utf-8"))
            rc, out, err = run_tool(["canonical", path])
            if rc == 1:
                nul[where, "rejected"] += 1
                g.ok(True, "nul")
            elif rc == 0 and out == canon(v):
                nul[where, "matched"] += 1
                g.ok(True, "nul")
            else:
                g.fail("NUL document %s (ensure_ascii=%s): exit %d, out %r, want "
                       "exit 1 or %r (%s)" % (short(v), ea, rc, out, canon(v), err))
    g.note("%d values (%d hand-picked) in %d batches, %d+1 individual docs"
           % (len(values), n_edge, len(batches), 2 * len(INDIVIDUAL)))
    g.note("U+0000 docs: NUL in a key %d rejected by policy/%d accepted and "
           "matching, NUL only in values %d rejected/%d accepted and matching"
           % (nul["key", "rejected"], nul["key", "matched"],
              nul["value", "rejected"], nul["value", "matched"]))
    if scalar_rejected:
        g.note("%d/%d top-level scalar docs rejected (allowed)"
               % (scalar_rejected, len(TOP_SCALARS)))
    return g


# ---------------------------------------------------------------------------
# floats

FLOAT_DOCS = [
    # (JSON text, note) -- json.dumps output where it can express the form
    (json.dumps(1.0), "1.0"),
    (json.dumps([1.0]), "[1.0]"),
    (json.dumps({"a": -0.5}), '{"a": -0.5}'),
    (json.dumps({"length": 1e3}), "1e3 as written by json.dumps"),
    (json.dumps({"x": [1, 2, {"y": 0.0}]}), "nested 0.0"),
    ("[1e3]", "exponent literal 1e3"),
    ('{"version": 1E3}', "exponent literal 1E3"),
    ('{"v": -0.5}', "-0.5"),
    ('{"v": 1.5e-3}', "1.5e-3"),
    ("-0.5", "top-level -0.5"),
]


def group_floats():
    g = Group("floats")
    fdir = os.path.join(WORKDIR, "floats")
    for j, (text, what) in enumerate(FLOAT_DOCS):
        value = json.loads(text)
        try:
            sslib_formats.encode_canonical(value)
            sslib_refused = False
        except sslib_exceptions.FormatError:
            sslib_refused = True
        g.ok(sslib_refused, "securesystemslib accepted float document %s" % what)
        path = os.path.join(fdir, "float-%d.json" % j)
        write_bytes(path, text.encode())
        rc, out, err = run_tool(["canonical", path])
        g.ok(rc == 1, "tool canonical on float document %s (%r): exit %d, want 1; "
             "stdout %r" % (what, text, rc, out[:80]))
        if rc == 1:
            g.ok(err.startswith("ferry-tuftool: "),
                 "float rejection message not 'ferry-tuftool: ...': %r" % err)
    g.note("%d float documents refused by both" % len(FLOAT_DOCS))
    return g


# ---------------------------------------------------------------------------
# keys, signing, metadata

def tuf_key(sk, keytype=None):
    return {"keytype": keytype or sk["keytype"], "scheme": sk["scheme"],
            "keyval": {"public": sk["keyval"]["public"]}}


def tuf_keyid(keydict):
    return hashlib.sha256(canon(keydict)).hexdigest()


class Signer:
    def __init__(self, name, sk, keytype=None):
        self.name = name
        self.public = tuf_key(sk, keytype)
        self.keyid = tuf_keyid(self.public)
        self.sslib_keyid = sk["keyid"]
        self._sk = dict(sk)
        self._sk["keyid"] = self.keyid  # so create_signature names it right

    def sign(self, signed):
        data = canon(signed)
        sig = sslib_keys.create_signature(self._sk, data)
        assert sig["keyid"] == self.keyid
        if not sslib_keys.verify_signature(self._sk, sig, data):
            raise RuntimeError("securesystemslib cannot verify its own %s signature"
                               % self.name)
        return {"keyid": sig["keyid"], "sig": sig["sig"]}


def envelope(signed, signers):
    return {"signed": signed, "signatures": [s.sign(signed) for s in signers]}


def meta_hashes(data):
    return {"length": len(data),
            "hashes": {"sha256": hashlib.sha256(data).hexdigest(),
                       "sha512": hashlib.sha512(data).hexdigest()}}


def root_signed(keys_by_id, roles):
    return {
        "_type": "root", "spec_version": SPEC_VERSION, "version": 1,
        "expires": EXPIRES, "consistent_snapshot": False,
        "keys": keys_by_id, "roles": roles,
    }


VERIFIED_RE = re.compile(r"^verified: (\S+) v(\d+) \((\d+)/(\d+) signatures\)\n?$")


def verify(g, trusted, role, path, want_rc, label, want_counts=None):
    rc, out, err = run_tool(["verify", trusted, role, path])
    ok = g.ok(rc == want_rc, "%s: verify %s %s %s: exit %d, want %d; %s%s"
              % (label, os.path.basename(trusted), role, os.path.basename(path),
                 rc, want_rc, out.decode("utf-8", "replace").strip(), err))
    if ok and rc == 0:
        m = VERIFIED_RE.match(out.decode("utf-8", "replace"))
        if not m:
            g.note("unparsed verify output %r" % out[:100])
        else:
            g.ok(m.group(1) == role and m.group(2) == "1",
                 "%s: verify output names %s v%s, want %s v1"
                 % (label, m.group(1), m.group(2), role))
            if want_counts is not None:
                got = (int(m.group(3)), int(m.group(4)))
                g.ok(got == want_counts, "%s: verify counted %d/%d, want %d/%d"
                     % ((label,) + got + want_counts))
    return ok


class Repo:
    """Keys and a signed four-role repository made by securesystemslib."""

    def __init__(self, ed, ec, rsa, ecdsa_keytype):
        self.ed = Signer("ed25519", ed)
        self.ec = Signer("ecdsa(%s)" % ecdsa_keytype, ec, ecdsa_keytype)
        self.rsa = Signer("rsa", rsa)
        self.keys = {s.keyid: s.public for s in (self.ed, self.ec, self.rsa)}
        self.roles = {
            "root": {"keyids": [self.ed.keyid, self.ec.keyid, self.rsa.keyid],
                     "threshold": 3},
            "targets": {"keyids": [self.rsa.keyid], "threshold": 1},
            "snapshot": {"keyids": [self.ec.keyid], "threshold": 1},
            "timestamp": {"keyids": [self.ed.keyid], "threshold": 1},
        }
        self.root = root_signed(self.keys, self.roles)
        content = "Hello from securesystemslib \u2014 gr\u00fc\u00dfe\n".encode("utf-8")
        self.targets = {
            "_type": "targets", "spec_version": SPEC_VERSION, "version": 1,
            "expires": EXPIRES,
            "targets": {
                "hello.txt": dict(meta_hashes(content), custom={
                    "descripci\u00f3n": "Gr\u00fc\u00dfe, \u043c\u0438\u0440, "
                                        "\u4e16\u754c \U0001F600 \u2028",
                    "nested": {"ok": True, "n": [1, -2, 2 ** 53 + 1]},
                }),
            },
            "x-ferry-unknown-field": {"note": "unrecognised fields are signed too",
                                      "\u00e9": ["\U0001F600", None, False]},
        }
        self.targets_md = envelope(self.targets, [self.rsa])
        self.targets_bytes = json.dumps(self.targets_md, indent=1,
                                        ensure_ascii=False).encode("utf-8")
        self.snapshot = {
            "_type": "snapshot", "spec_version": SPEC_VERSION, "version": 1,
            "expires": EXPIRES,
            "meta": {"targets.json": dict(meta_hashes(self.targets_bytes), version=1)},
        }
        self.snapshot_md = envelope(self.snapshot, [self.ec])
        self.snapshot_bytes = json.dumps(self.snapshot_md, indent=1).encode()
        self.timestamp = {
            "_type": "timestamp", "spec_version": SPEC_VERSION, "version": 1,
            "expires": EXPIRES,
            "meta": {"snapshot.json": dict(meta_hashes(self.snapshot_bytes), version=1)},
        }
        self.timestamp_md = envelope(self.timestamp, [self.ed])
        self.root_md = envelope(self.root, [self.ed, self.ec, self.rsa])

    def write(self, d):
        os.makedirs(d, exist_ok=True)
        write_json(os.path.join(d, "root.json"), self.root_md, indent=1)
        write_bytes(os.path.join(d, "targets.json"), self.targets_bytes)
        write_bytes(os.path.join(d, "snapshot.json"), self.snapshot_bytes)
        write_json(os.path.join(d, "timestamp.json"), self.timestamp_md, indent=1)
        return d


def group_keyid(g, signers):
    kdir = os.path.join(WORKDIR, "keys")
    for s in signers:
        path = os.path.join(kdir, "%s.json" % re.sub(r"[^a-z0-9-]", "_", s.name))
        write_json(path, s.public, indent=2)
        rc, out, err = run_tool(["keyid", path])
        g.ok(rc == 0 and out == (s.keyid + "\n").encode(),
             "keyid %s: tool exit %d, printed %r, want %r (%s)"
             % (s.name, rc, out, s.keyid + "\n", err))
        # What securesystemslib itself calls the key id.  0.26 hashes the
        # public key dict *with* "keyid_hash_algorithms": ["sha256","sha512"].
        # (Not comparable when the keytype was renamed from sslib's "ecdsa".)
        if s.public["keytype"] == s._sk["keytype"]:
            with_kha = dict(s.public, keyid_hash_algorithms=["sha256", "sha512"])
            g.ok(s.sslib_keyid in (s.keyid, tuf_keyid(with_kha)),
                 "%s: securesystemslib keyid %s is sha256 of neither the 3-field "
                 "nor the 4-field (keyid_hash_algorithms) key dict"
                 % (s.name, s.sslib_keyid))
    signers = [s for s in signers if s.public["keytype"] == s._sk["keytype"]]
    mism = [s for s in signers if s.sslib_keyid != s.keyid]
    if mism:
        g.note("securesystemslib 0.26 keyids differ from TUF keyids for %d/%d keys "
               "(it hashes keyid_hash_algorithms too); metadata uses the 3-field keyid"
               % (len(mism), len(signers)))


def group_verify(ed, ec, rsa):
    gk = Group("keyid")
    gv = Group("verify")
    repos = []
    for kt in ("ecdsa", "ecdsa-sha2-nistp256"):
        repo = Repo(ed, ec, rsa, kt)
        d = repo.write(os.path.join(WORKDIR, "repo" if kt == "ecdsa" else "repo-" + kt))
        repos.append((repo, d))
    group_keyid(gk, [repos[0][0].ed, repos[0][0].ec, repos[1][0].ec, repos[0][0].rsa])

    for repo, d in repos:
        tag = "keytype %s" % repo.ec.public["keytype"]
        root = os.path.join(d, "root.json")
        verify(gv, root, "root", root, 0, tag, (3, 3))
        verify(gv, root, "targets", os.path.join(d, "targets.json"), 0, tag, (1, 1))
        verify(gv, root, "snapshot", os.path.join(d, "snapshot.json"), 0, tag, (1, 1))
        verify(gv, root, "timestamp", os.path.join(d, "timestamp.json"), 0, tag, (1, 1))
        rc, out, err = run_tool(["validate", os.path.join(d, "targets.json")])
        gv.ok(rc == 0 and out.startswith(b"targets v1 expires "),
              "%s: validate targets.json: exit %d, %r %s" % (tag, rc, out, err))

    # the same metadata re-serialized (other whitespace, key order, escaping)
    repo, d = repos[0]
    alt = os.path.join(WORKDIR, "repo-reformatted")
    os.makedirs(alt, exist_ok=True)
    for name, md in (("root", repo.root_md), ("targets", repo.targets_md),
                     ("snapshot", repo.snapshot_md), ("timestamp", repo.timestamp_md)):
        write_json(os.path.join(alt, name + ".json"), md, ensure_ascii=True,
                   sort_keys=True, indent=4)
    for name in ("targets", "snapshot", "timestamp", "root"):
        verify(gv, os.path.join(d, "root.json"), name,
               os.path.join(alt, name + ".json"), 0, "reformatted")
    gv.note("ed25519/ecdsa-p256/rsa-pss-%d keys; ecdsa as keytype 'ecdsa' and "
            "'ecdsa-sha2-nistp256'" % rsa_bits(rsa))
    return gk, gv, repos[0][0]


def rsa_bits(sk):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    return load_pem_public_key(sk["keyval"]["public"].encode()).key_size


def flip_sig(md, index=0):
    md = copy.deepcopy(md)
    raw = bytearray.fromhex(md["signatures"][index]["sig"])
    raw[len(raw) // 2] ^= 0x01
    md["signatures"][index]["sig"] = raw.hex()
    return md


def group_negative(repo):
    g = Group("negative")
    nd = os.path.join(WORKDIR, "neg")
    os.makedirs(nd, exist_ok=True)
    good_root = os.path.join(WORKDIR, "repo", "root.json")
    ed, ec, rsa = repo.ed, repo.ec, repo.rsa

    def put(name, md, **kw):
        p = os.path.join(nd, name)
        write_json(p, md, indent=1, **kw)
        return p

    def root_with(roles_patch, keys_extra=None, signers=(ed, ec, rsa), extra_sigs=()):
        roles = copy.deepcopy(repo.roles)
        for k, v in roles_patch.items():
            roles[k] = v
        keys = dict(repo.keys)
        keys.update(keys_extra or {})
        signed = root_signed(keys, roles)
        md = envelope(signed, list(signers))
        md["signatures"] = list(extra_sigs) + md["signatures"]
        return md

    # 1. threshold not met
    r4 = put("root-threshold4.json",
             root_with({"root": {"keyids": repo.roles["root"]["keyids"], "threshold": 4}}))
    verify(g, r4, "root", r4, 1, "root threshold 4, 3 keys signed")
    verify(g, good_root, "root", r4, 0, "control: threshold-4 root checked against "
           "threshold-3 root")
    rt2 = put("root-targets-t2.json",
              root_with({"targets": {"keyids": [rsa.keyid, ec.keyid], "threshold": 2}}))
    verify(g, rt2, "targets", os.path.join(WORKDIR, "repo", "targets.json"), 1,
           "targets threshold 2, only rsa signed")

    # 2. one flipped signature byte, per key type
    for role, md in (("targets", repo.targets_md), ("snapshot", repo.snapshot_md),
                     ("timestamp", repo.timestamp_md)):
        p = put("%s-flipped.json" % role, flip_sig(md), ensure_ascii=False)
        verify(g, good_root, role, p, 1, "%s signature with a flipped byte" % role)
    for i, who in enumerate(("ed25519", "ecdsa", "rsa")):
        p = put("root-flipped-%s.json" % who, flip_sig(repo.root_md, i))
        verify(g, good_root, "root", p, 1, "root (threshold 3) with %s signature "
               "flipped" % who)

    # 3. one key's signature listed twice must count once
    rts = put("root-timestamp-t2.json",
              root_with({"timestamp": {"keyids": [ed.keyid, rsa.keyid], "threshold": 2}}))
    ts = repo.timestamp
    dup = {"signed": ts, "signatures": [ed.sign(ts), ed.sign(ts)]}
    verify(g, rts, "timestamp", put("timestamp-dup.json", dup), 1,
           "same ed25519 signature listed twice for threshold 2")
    both = {"signed": ts, "signatures": [ed.sign(ts), rsa.sign(ts)]}
    verify(g, rts, "timestamp", put("timestamp-two-keys.json", both), 0,
           "control: ed25519 + rsa for threshold 2", (2, 2))
    rss = put("root-snapshot-t2.json",
              root_with({"snapshot": {"keyids": [ec.keyid, rsa.keyid], "threshold": 2}}))
    sn = repo.snapshot
    s1, s2 = ec.sign(sn), ec.sign(sn)
    g.ok(s1["sig"] != s2["sig"], "ECDSA signatures unexpectedly deterministic")
    verify(g, rss, "snapshot",
           put("snapshot-two-ecdsa-sigs.json", {"signed": sn, "signatures": [s1, s2]}),
           1, "two distinct valid ECDSA signatures by one key for threshold 2")
    verify(g, rss, "snapshot",
           put("snapshot-ecdsa-dup.json", {"signed": sn, "signatures": [s1, s1]}),
           1, "same ECDSA signature listed twice for threshold 2")

    # 4. signed part changed after signing
    md = copy.deepcopy(repo.targets_md)
    md["signed"]["version"] = 2
    verify(g, good_root, "targets", put("targets-version-changed.json", md), 1,
           "targets version changed after signing")
    md = copy.deepcopy(repo.targets_md)
    md["signed"]["targets"]["hello.txt"]["custom"]["descripci\u00f3n"] = "Gr\u00fc\u00dfe"
    verify(g, good_root, "targets",
           put("targets-custom-changed.json", md, ensure_ascii=False), 1,
           "targets custom field changed after signing")
    md = copy.deepcopy(repo.targets_md)
    del md["signed"]["x-ferry-unknown-field"]
    verify(g, good_root, "targets", put("targets-unknown-dropped.json", md), 1,
           "unknown signed field dropped after signing")
    md = copy.deepcopy(repo.timestamp_md)
    md["signed"]["expires"] = "2037-01-01T00:00:00Z"
    verify(g, good_root, "timestamp", put("timestamp-expires-changed.json", md), 1,
           "timestamp expires changed after signing")

    # 5. wrong role / key outside the role
    verify(g, good_root, "snapshot", os.path.join(WORKDIR, "repo", "timestamp.json"),
           1, "timestamp metadata checked as snapshot")
    md = {"signed": repo.timestamp, "signatures": [rsa.sign(repo.timestamp)]}
    verify(g, good_root, "timestamp", put("timestamp-by-rsa.json", md), 1,
           "timestamp signed only by the rsa (targets) key")
    md = {"signed": repo.timestamp, "signatures": []}
    verify(g, good_root, "timestamp", put("timestamp-unsigned.json", md), 1,
           "timestamp with no signatures")
    return g


def group_unknown(repo):
    g = Group("unknown")
    ud = os.path.join(WORKDIR, "unknown")
    os.makedirs(ud, exist_ok=True)
    ed, ec, rsa = repo.ed, repo.ec, repo.rsa
    unk = {"keytype": "x-unknown", "scheme": "x-unknown",
           "keyval": {"public": "00ff00ff"}}
    unk_id = tuf_keyid(unk)
    unk_sig = lambda: {"keyid": unk_id, "sig": "ab" * 64}
    keys = dict(repo.keys)
    keys[unk_id] = unk

    def mkroot(name, roles_patch, root_sigs_extra=()):
        roles = copy.deepcopy(repo.roles)
        roles.update(roles_patch)
        md = envelope(root_signed(keys, roles), [ed, ec, rsa])
        md["signatures"] = list(root_sigs_extra) + md["signatures"]
        p = os.path.join(ud, name)
        write_json(p, md, indent=1)
        return p

    r1 = mkroot("root-unknown-t1.json",
                {"timestamp": {"keyids": [unk_id, ed.keyid], "threshold": 1},
                 "root": {"keyids": [unk_id, ed.keyid, ec.keyid, rsa.keyid],
                          "threshold": 3}},
                [unk_sig()])
    ts = repo.timestamp
    tsp = os.path.join(ud, "timestamp-unknown-sig.json")
    write_json(tsp, {"signed": ts, "signatures": [unk_sig(), ed.sign(ts)]}, indent=1)
    verify(g, r1, "timestamp", tsp, 0,
           "unknown-type key+signature ignored, ed25519 meets threshold 1", (1, 1))
    verify(g, r1, "root", r1, 0,
           "root holding an unknown-type key and signature, 3 known keys meet "
           "threshold 3", (3, 3))
    r2 = mkroot("root-unknown-t2.json",
                {"timestamp": {"keyids": [unk_id, ed.keyid], "threshold": 2}})
    verify(g, r2, "timestamp", tsp, 1,
           "unknown-type signature must not count towards threshold 2")
    tsonly = os.path.join(ud, "timestamp-only-unknown.json")
    write_json(tsonly, {"signed": ts, "signatures": [unk_sig()]}, indent=1)
    verify(g, r1, "timestamp", tsonly, 1, "only an unknown-type signature")
    return g


def make_sslib_keys():
    ed = sslib_keys.generate_ed25519_key()
    ec = sslib_keys.generate_ecdsa_key()
    rsa = sslib_keys.generate_rsa_key(scheme="rsassa-pss-sha256")
    return ed, ec, rsa


def main(argv):
    global TUFTOOL, WORKDIR
    if len(argv) != 3:
        sys.stderr.write("usage: %s TUFTOOL WORKDIR\n" % argv[0])
        return 2
    TUFTOOL = os.path.abspath(argv[1])
    WORKDIR = os.path.abspath(argv[2])
    if not os.access(TUFTOOL, os.X_OK):
        sys.stderr.write("sslib_crosscheck: %s is not executable\n" % TUFTOOL)
        return 1
    os.makedirs(WORKDIR, exist_ok=True)

    groups = [group_canonical(), group_floats()]
    ed, ec, rsa = make_sslib_keys()
    gk, gv, repo = group_verify(ed, ec, rsa)
    groups += [gk, gv, group_negative(repo), group_unknown(repo)]

    print("--- sslib_crosscheck summary (securesystemslib %s) ---" % _sslib_version())
    for g in groups:
        print(g.summary())
    failed = sum(g.failures for g in groups)
    print("RESULT: %s" % ("PASS" if failed == 0 else "FAIL (%d failed checks)" % failed))
    return 0 if failed == 0 else 1


def _sslib_version():
    try:
        import securesystemslib
        return getattr(securesystemslib, "__version__", "?")
    except Exception:  # pragma: no cover
        return "?"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
