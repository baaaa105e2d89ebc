#!/usr/bin/python3
# schema_check.py: validate TUF metadata files against Ferry's JSON Schemas.
#
#   /usr/bin/python3 tests/e2e/schema_check.py SCHEMADIR FILE...
#
# For each FILE the schema is chosen from signed._type (root, targets,
# snapshot, timestamp), or for the signer's own files from the top-level
# _type (see SIGNER_TYPES: "ferry-key" is key.schema.json, and so on) or,
# for a bare key with keyid and keyval, pubkey.schema.json, or for a file
# whose name ends in "repod.json" (ferry-repod's configuration, which has
# no _type) repod-config.schema.json; one line is printed:
#   ok FILE
#   FAIL FILE: <JSON pointer in the document>: <message>
# Exit status: 0 all files passed, 1 some file failed, 2 usage error
# (bad arguments, or SCHEMADIR does not hold loadable schemas).
#
# Only the standard library and jsonschema (4.10.3 on Debian 12) are used.
# Schemas are wired together with a RefResolver whose store maps each
# schema's $id to the loaded schema, so the relative
# "common.schema.json#/$defs/..." references resolve offline.

import json
import os
import sys

import jsonschema
from jsonschema import Draft202012Validator, RefResolver
from jsonschema.exceptions import best_match

ROLES = ("root", "targets", "snapshot", "timestamp")
# Files the signer writes that are not TUF metadata, by their top-level
# _type, and the schema (NAME.schema.json) for each.
SIGNER_TYPES = {
    "ferry-key": "key",
    "ferry-sign-workspace": "workspace",
    "ferry-sign-request": "request",
    "ferry-sign-signatures": "signatures",
    "ferry-bundle": "manifest",
    "ferry-export": "export",
}
# pubkey has no _type: it is TUF's key object plus keyid.
OTHERS = tuple(SIGNER_TYPES.values()) + ("pubkey", "repod-config")
SCHEMA_FILES = ("common",) + ROLES + OTHERS
PROG = "schema_check.py"


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    # Canonical JSON has unique keys, and a parser that silently keeps the
    # last duplicate could read different metadata than a signer saw.
    # Reject duplicates outright instead of letting json pick one.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey("duplicate object key %r" % key)
        obj[key] = value
    return obj


def _strict_integer(checker, instance):
    # Draft 2020-12 says 1.0 is an integer (same mathematical value), and
    # jsonschema follows that. TUF metadata is canonical JSON, which has no
    # floats at all, so here "integer" means a JSON number written without
    # a fraction or exponent, i.e. a Python int (bool is not one).
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = jsonschema.validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", _strict_integer),
)


def load_json(path):
    # Read bytes and decode UTF-8 ourselves so the result does not depend
    # on the locale (metadata may carry non-ASCII custom fields).
    with open(path, "rb") as f:
        data = f.read()
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)


def load_validators(schemadir):
    """Return {role: validator}; raise on any problem with the schemas."""
    schemas = {}
    for name in SCHEMA_FILES:
        path = os.path.join(schemadir, name + ".schema.json")
        schema = load_json(path)
        # A broken schema would make every check meaningless: fail early.
        StrictValidator.check_schema(schema)
        if "$id" not in schema:
            raise ValueError("%s: no $id" % path)
        schemas[name] = schema
    store = {s["$id"]: s for s in schemas.values()}
    validators = {}
    for role in ROLES + OTHERS:
        schema = schemas[role]
        resolver = RefResolver(base_uri=schema["$id"], referrer=schema,
                               store=store)
        check_refs(schema, resolver)
        validators[role] = StrictValidator(schema, resolver=resolver)
    return validators


def check_refs(node, resolver):
    """Resolve every $ref below node; raise ValueError for one that fails.

    jsonschema resolves a $ref only when validation reaches it, and then
    raises rather than reporting a failed file; some references point
    into another schema's properties (request.schema.json uses
    root.schema.json#/properties/signed), so a schema that is reorganised
    must fail here, at load time, not in the middle of a check.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                # A reference inside the target is checked when the
                # target's own schema is walked, from the same base URI.
                resolver.resolve(ref)
            except jsonschema.RefResolutionError as e:
                raise ValueError("unresolvable $ref %r: %s" % (ref, e))
        for key, value in node.items():
            if key != "$ref":
                check_refs(value, resolver)
    elif isinstance(node, list):
        for value in node:
            check_refs(value, resolver)


def pointer(parts):
    # Render an error location as a JSON pointer (RFC 6901).
    out = ""
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out or "/"


def short(text, limit=160):
    # jsonschema messages quote the offending instance, which can be a whole
    # targets map; keep the report to one readable line.
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def describe(error):
    """One-line message for a jsonschema ValidationError."""
    if error.validator == "oneOf" and not error.context:
        # Every alternative matched: the message would dump the instance.
        alts = [sorted(s.get("required", [])) for s in error.validator_value]
        names = [" ".join(a) for a in alts]
        return "must have exactly one of: %s (has more than one)" % \
            ", ".join(names)
    if error.validator == "oneOf":
        alts = [" ".join(sorted(s.get("required", [])))
                for s in error.validator_value]
        if all(e.validator == "required" for e in error.context):
            return "must have exactly one of: %s (has none)" % \
                ", ".join(alts)
    if error.validator in ("minProperties", "maxProperties"):
        # The default message quotes the whole object.
        bound = ("at least %d required" if error.validator == "minProperties"
                 else "at most %d allowed")
        return ("has %d entries; " + bound) % (
            len(error.instance), error.validator_value)
    if error.validator == "const":
        return "%r is not %r" % (error.instance, error.validator_value)
    if error.validator == "type":
        return "%s is not of type %r" % (short(repr(error.instance), 60),
                                         error.validator_value)
    return short(error.message)


def check_file(path, validators):
    """Return None if path validates, else (json pointer, message)."""
    try:
        doc = load_json(path)
    except OSError as e:
        return ("/", "cannot read: %s" % (e.strerror or e))
    except UnicodeDecodeError as e:
        return ("/", "not UTF-8: %s" % e.reason)
    except (ValueError, DuplicateKey) as e:
        return ("/", "not JSON: %s" % e)

    # ferry-repod's configuration has no _type: it goes by its name.
    # Anything else is told by the document itself, checking just enough
    # structure to find signed._type.
    if os.path.basename(path).endswith("repod.json"):
        role = "repod-config"
    elif not isinstance(doc, dict):
        return ("/", "top level is not an object")
    elif "signed" not in doc and isinstance(doc.get("_type"), str) and \
            doc["_type"] in SIGNER_TYPES:
        role = SIGNER_TYPES[doc["_type"]]
    elif "signed" not in doc and isinstance(doc.get("_type"), str) and \
            doc["_type"].startswith("ferry-"):
        return ("/_type", "unknown _type %r (expected one of %s)"
                % (doc["_type"], ", ".join(sorted(SIGNER_TYPES))))
    elif "signed" not in doc and "keyid" in doc and "keyval" in doc:
        role = "pubkey"
    else:
        role = None
    if role is not None:
        errors = list(validators[role].iter_errors(doc))
        if not errors:
            return None
        errors.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
        err = best_match(errors)
        return (pointer(err.absolute_path), describe(err))
    signed = doc.get("signed")
    if not isinstance(signed, dict):
        return ("/signed", "missing or not an object")
    if "_type" not in signed:
        return ("/signed", "'_type' is a required property")
    role = signed["_type"]
    if not isinstance(role, str) or role not in validators:
        return ("/signed/_type", "unknown _type %r (expected one of %s)"
                % (role, ", ".join(ROLES)))

    errors = list(validators[role].iter_errors(doc))
    if not errors:
        return None
    # Report one error: the most relevant by jsonschema's heuristic, with a
    # stable tie-break so the output does not depend on iteration order.
    errors.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
    err = best_match(errors)
    return (pointer(err.absolute_path), describe(err))


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: %s SCHEMADIR FILE...\n" % PROG)
        return 2
    schemadir = argv[1]
    if not os.path.isdir(schemadir):
        sys.stderr.write("%s: %s: not a directory\n" % (PROG, schemadir))
        return 2
    try:
        validators = load_validators(schemadir)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        sys.stderr.write("%s: cannot load schemas from %s: %s\n"
                         % (PROG, schemadir, short(e, 200)))
        return 2

    status = 0
    for path in argv[2:]:
        result = check_file(path, validators)
        if result is None:
            print("ok %s" % path)
        else:
            print("FAIL %s: %s: %s" % (path, result[0], result[1]))
            status = 1
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
