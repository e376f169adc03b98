# Included by _dns.pyx (in order): shares its cimports and module scope.
# Presentation form (RFC 1035 5.1, dig's style) of rdata: rdata_text.

# --- presentation form ----------------------------------------------------------------
cdef str _owner_text(str name):
    return name if name == "." else name + "."


def _qstr(bytes s):
    """A character-string in double quotes, dig-style escapes."""
    return '"' + _escaped(s) + '"'


def _escaped(bytes s):
    """A character-string's text inside double quotes: \\" and \\\\ escaped, others \\DDD."""
    cdef const unsigned char* b = <const unsigned char*>PyBytes_AS_STRING(s)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(s)
    cdef bytearray buf = bytearray(4 * n)   # at most 4 characters per byte (\\DDD)
    cdef char* out = PyByteArray_AS_STRING(buf)
    return _ascii(out, _escape_chars(b, n, out))


def _b64(bytes s):
    return binascii.b2a_base64(s, newline=False).decode("ascii")


_B32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"


def _b32hex(bytes s):
    bits = 0
    nbits = 0
    out = []
    for c in s:
        bits = (bits << 8) | c
        nbits += 8
        while nbits >= 5:
            nbits -= 5
            out.append(_B32HEX[(bits >> nbits) & 31])
    if nbits:
        out.append(_B32HEX[(bits << (5 - nbits)) & 31])
    return "".join(out)


def _time_text(t):
    return _time.strftime("%Y%m%d%H%M%S", _time.gmtime(t))


def _types_text(types):
    return " ".join(type_name(t) for t in types)


def _svc_value_text(key, value):
    # dig 9.18 form: alpn and opaque values in double quotes, the others bare
    if value is True:
        return key
    if key == "mandatory":
        return key + "=" + ",".join(SVC_PARAM_NAMES.get(k, f"key{k}") for k in value)
    if key == "alpn":
        return key + '="' + ",".join(_escaped(v).replace(",", "\\\\,") for v in value) + '"'
    if key in ("ipv4hint", "ipv6hint"):
        return key + "=" + ",".join(value)
    if key == "port":
        return f"{key}={value}"
    if key == "ech":
        return key + "=" + _b64(value)
    return key + '="' + _escaped(value) + '"'


def _edns_option_text(opt):
    v = opt.value
    if isinstance(v, ClientSubnet):
        return f"{opt.name}: {v.address}/{v.source_prefix}/{v.scope_prefix}"
    if isinstance(v, Cookie):
        return f"{opt.name}: {v.client.hex()}{v.server.hex()}"
    if isinstance(v, ExtendedError):
        return f"{opt.name}: {v.code} {v.text!r}"
    if opt.code == 12 and isinstance(v, bytes):
        return f"{opt.name}: ({len(v)} bytes)"
    if opt.code == 11:
        return f"{opt.name}: {v if v is not None else '-'}"
    return f"{opt.name}: {v.hex() if isinstance(v, bytes) else v}"


def rdata_text(Record r):
    """Presentation form of a record's rdata; RFC 3597 \\# form for unknown/malformed."""
    d = r.data
    t = r.type
    if r.malformed or isinstance(d, bytes) and t not in (49, 61):
        return f"\\# {len(r.rdata)} {r.rdata.hex().upper()}".rstrip()
    if isinstance(d, str):
        return d if t in (1, 28) else _owner_text(d)
    if t in (15, 18, 21, 36):
        return f"{d[0]} {_owner_text(d[1])}"
    if t == 6:
        return (f"{_owner_text(d.mname)} {_owner_text(d.rname)} {d.serial} {d.refresh} "
                f"{d.retry} {d.expire} {d.minimum}")
    if t in (16, 99):
        return " ".join(_qstr(s) for s in d)
    if t == 13:
        return f"{_qstr(d.cpu)} {_qstr(d.os)}"
    if t in (14, 17):
        return f"{_owner_text(d[0])} {_owner_text(d[1])}"
    if t == 33:
        return f"{d.priority} {d.weight} {d.port} {_owner_text(d.target)}"
    if t == 35:
        return (f"{d.order} {d.preference} {_qstr(d.flags)} {_qstr(d.services)} "
                f"{_qstr(d.regexp)} {_owner_text(d.replacement)}")
    if t == 257:
        return f"{d.flags} {d.tag.decode('latin-1')} {_qstr(d.value)}"
    if t == 44:
        return f"{d.algorithm} {d.fp_type} {d.fingerprint.hex().upper()}"
    if t in (52, 53):
        return f"{d.usage} {d.selector} {d.mtype} {d.cert.hex().upper()}"
    if t in (43, 59, 32769):
        return f"{d.key_tag} {d.algorithm} {d.digest_type} {d.digest.hex().upper()}"
    if t in (48, 60, 25):
        return f"{d.flags} {d.protocol} {d.algorithm} {_b64(d.key)}"
    if t in (46, 24):
        return (f"{type_name(d.type_covered)} {d.algorithm} {d.labels} {d.original_ttl} "
                f"{_time_text(d.expiration)} {_time_text(d.inception)} {d.key_tag} "
                f"{_owner_text(d.signer)} {_b64(d.signature)}")
    if t == 47:
        return f"{_owner_text(d.next)} {_types_text(d.types)}".rstrip()
    if t == 50:
        return (f"{d.algorithm} {d.flags} {d.iterations} {d.salt.hex().upper() or '-'} "
                f"{_b32hex(d.next)} {_types_text(d.types)}").rstrip()
    if t == 51:
        return f"{d.algorithm} {d.flags} {d.iterations} {d.salt.hex().upper() or '-'}"
    if t == 62:
        return f"{d.serial} {d.flags} {_types_text(d.types)}".rstrip()
    if t == 256:
        return f"{d.priority} {d.weight} {_qstr(d.target)}"
    if t in (64, 65):
        parts = [str(d.priority), _owner_text(d.target)]
        parts.extend(_svc_value_text(k, v) for k, v in d.params.items())
        return " ".join(parts)
    if t in (49, 61):
        return _b64(d)
    if t == 250:
        return (f"{_owner_text(d.algorithm)} {d.time_signed} {d.fudge} {len(d.mac)} "
                f"{_b64(d.mac)} {d.original_id} {rcode_name(d.error)} {len(d.other)}"
                f"{' ' + _b64(d.other) if d.other else ''}")
    if t == 41:
        parts = [f"; EDNS: version: {d.version}, flags:{' do' if d.do else ''}; "
                 f"udp: {d.payload_size}"]
        parts.extend(_edns_option_text(o) for o in d.options)
        return "; ".join(parts)
    return f"\\# {len(r.rdata)} {r.rdata.hex().upper()}".rstrip()
