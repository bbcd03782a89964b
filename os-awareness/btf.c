// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * BTF reader: checks the header and every type record once at parse time
 * (sizes, string offsets, referenced ids), builds an index of record
 * offsets, then answers lookups of types, member offsets and sizes with
 * bounded walks only.
 */
#include "os-awareness/btf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR_MIN 24u
#define REC 12u			/* name_off, info, size/type */
#define MAX_DEPTH 32		/* typedef chains, nesting */

struct btf {
	uint8_t *data;
	size_t len;
	const uint8_t *types;
	uint32_t types_len;
	const char *strs;
	uint32_t strs_len;
	uint32_t *off;		/* record offset in types, per id >= 1 */
	uint32_t n;		/* ids, void included */
	unsigned ptr_size;
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static const uint8_t *rec(const struct btf *b, uint32_t id)
{
	return id && id < b->n ? b->types + b->off[id] : NULL;
}

static unsigned rec_kind(const uint8_t *r) { return (rd32(r + 4) >> 24) & 0x1f; }
static unsigned rec_vlen(const uint8_t *r) { return rd32(r + 4) & 0xffff; }
static bool rec_kflag(const uint8_t *r) { return rd32(r + 4) >> 31; }

/* Bytes after the 12-byte header of a record of this kind, or -1. */
static long extra_size(unsigned kind, unsigned vlen)
{
	switch (kind) {
	case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC: case BTF_KIND_FLOAT: case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return 12;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC:
	case BTF_KIND_ENUM64:
		return 12l * vlen;
	case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO:
		return 8l * vlen;
	default:
		return -1;
	}
}

size_t btf_blob_size(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t hl, t_end, s_end;

	if (len < HDR_MIN || (p[0] | p[1] << 8) != BTF_MAGIC || p[2] != 1)
		return 0;
	hl = rd32(p + 4);
	if (hl < HDR_MIN)
		return 0;
	t_end = hl + (uint64_t)rd32(p + 8) + rd32(p + 12);
	s_end = hl + (uint64_t)rd32(p + 16) + rd32(p + 20);
	return (size_t)(t_end > s_end ? t_end : s_end);
}

static bool str_ok(const struct btf *b, uint32_t off)
{
	return off < b->strs_len;
}

/* Every id a record refers to must exist. */
static int check_refs(const struct btf *b, uint32_t id, struct strbuf *why)
{
	const uint8_t *r = rec(b, id), *m = r + REC;
	unsigned kind = rec_kind(r), vlen = rec_vlen(r), i;
	uint32_t ref = rd32(r + 8);

	switch (kind) {
	case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC:
	case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
	case BTF_KIND_FUNC_PROTO:
		if (ref >= b->n)
			goto bad;
		break;
	default:
		break;
	}
	switch (kind) {
	case BTF_KIND_ARRAY:
		if (rd32(m) >= b->n || rd32(m + 4) >= b->n)
			goto bad;
		break;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		for (i = 0; i < vlen; i++, m += 12)
			if (!str_ok(b, rd32(m)) || rd32(m + 4) >= b->n)
				goto bad;
		break;
	case BTF_KIND_FUNC_PROTO:
		for (i = 0; i < vlen; i++, m += 8)
			if (!str_ok(b, rd32(m)) || rd32(m + 4) >= b->n)
				goto bad;
		break;
	case BTF_KIND_DATASEC:
		for (i = 0; i < vlen; i++, m += 12)
			if (rd32(m) >= b->n)
				goto bad;
		break;
	case BTF_KIND_ENUM:
		for (i = 0; i < vlen; i++, m += 8)
			if (!str_ok(b, rd32(m)))
				goto bad;
		break;
	case BTF_KIND_ENUM64:
		for (i = 0; i < vlen; i++, m += 12)
			if (!str_ok(b, rd32(m)))
				goto bad;
		break;
	default:
		break;
	}
	return 0;
bad:
	strbuf_addf(why, "BTF type %u refers to a type id or string that does not exist",
		    id);
	return -EINVAL;
}

int btf_parse(const void *data, size_t len, struct btf **out,
	      struct strbuf *why)
{
	const uint8_t *p = data;
	struct btf *b;
	uint64_t hl, toff, tlen, soff, slen, pos;
	uint32_t cap, id;
	int rc = -EINVAL;

	*out = NULL;
	if (len < HDR_MIN) {
		strbuf_addf(why, "BTF blob of %zu bytes is shorter than its header",
			    len);
		return -EINVAL;
	}
	if ((p[0] | p[1] << 8) != BTF_MAGIC) {
		strbuf_addf(why, "no BTF magic (0x%02x%02x)", p[1], p[0]);
		return -EINVAL;
	}
	if (p[2] != 1) {
		strbuf_addf(why, "BTF version %u is not supported (only 1)", p[2]);
		return -EINVAL;
	}
	hl = rd32(p + 4);
	toff = rd32(p + 8);
	tlen = rd32(p + 12);
	soff = rd32(p + 16);
	slen = rd32(p + 20);
	if (hl < HDR_MIN || hl > len || hl + toff + tlen > len ||
	    hl + soff + slen > len || (toff & 3) || (tlen & 3)) {
		strbuf_addf(why, "BTF header (hdr_len %llu, types %llu+%llu, strings %llu+%llu) does not fit the %zu-byte blob",
			    (unsigned long long)hl, (unsigned long long)toff,
			    (unsigned long long)tlen, (unsigned long long)soff,
			    (unsigned long long)slen, len);
		return -EINVAL;
	}
	if (slen == 0 || ((const char *)p)[hl + soff + slen - 1] != 0 ||
	    p[hl + soff] != 0) {
		strbuf_addstr(why, "BTF string section is empty or not NUL-delimited");
		return -EINVAL;
	}
	b = xcalloc(1, sizeof(*b));
	b->len = len;
	b->data = xmalloc(len);
	memcpy(b->data, data, len);
	b->types = b->data + hl + toff;
	b->types_len = (uint32_t)tlen;
	b->strs = (const char *)b->data + hl + soff;
	b->strs_len = (uint32_t)slen;
	cap = (uint32_t)(tlen / REC) + 2;
	b->off = xcalloc(cap, sizeof(*b->off));
	b->n = 1;
	for (pos = 0; pos < tlen;) {
		const uint8_t *r = b->types + pos;
		long extra;

		if (tlen - pos < REC) {
			strbuf_addf(why, "BTF type %u is cut short at the end of the type section",
				    b->n);
			goto fail;
		}
		extra = extra_size(rec_kind(r), rec_vlen(r));
		if (extra < 0) {
			strbuf_addf(why, "BTF type %u has unknown kind %u", b->n,
				    rec_kind(r));
			goto fail;
		}
		if ((uint64_t)extra > tlen - pos - REC) {
			strbuf_addf(why, "BTF type %u (kind %u, %u members) runs past the type section",
				    b->n, rec_kind(r), rec_vlen(r));
			goto fail;
		}
		if (!str_ok(b, rd32(r))) {
			strbuf_addf(why, "BTF type %u has name offset %u beyond the %u-byte string section",
				    b->n, rd32(r), b->strs_len);
			goto fail;
		}
		b->off[b->n++] = (uint32_t)pos;
		pos += REC + (uint64_t)extra;
	}
	for (id = 1; id < b->n; id++)
		if (check_refs(b, id, why))
			goto fail;
	b->ptr_size = 8;
	for (id = 1; id < b->n; id++) {
		const uint8_t *r = rec(b, id);

		if (rec_kind(r) == BTF_KIND_INT &&
		    (!strcmp(b->strs + rd32(r), "long int") ||
		     !strcmp(b->strs + rd32(r), "long unsigned int"))) {
			uint32_t sz = rd32(r + 8);

			if (sz == 4 || sz == 8)
				b->ptr_size = sz;
			break;
		}
	}
	*out = b;
	return 0;
fail:
	btf_free(b);
	return rc;
}

void btf_free(struct btf *b)
{
	if (!b)
		return;
	free(b->off);
	free(b->data);
	free(b);
}

uint32_t btf_nr_types(const struct btf *b) { return b->n; }
unsigned btf_ptr_size(const struct btf *b) { return b->ptr_size; }

unsigned btf_kind(const struct btf *b, uint32_t id)
{
	const uint8_t *r = rec(b, id);

	return r ? rec_kind(r) : BTF_KIND_UNKN;
}

const char *btf_name(const struct btf *b, uint32_t id)
{
	const uint8_t *r = rec(b, id);

	return r ? b->strs + rd32(r) : "";
}

uint32_t btf_ref(const struct btf *b, uint32_t id)
{
	const uint8_t *r = rec(b, id);

	return r ? rd32(r + 8) : 0;
}

unsigned btf_vlen(const struct btf *b, uint32_t id)
{
	const uint8_t *r = rec(b, id);

	return r ? rec_vlen(r) : 0;
}

int btf_find(const struct btf *b, unsigned kind, const char *name,
	     uint32_t *id)
{
	uint32_t i;

	for (i = 1; i < b->n; i++) {
		const uint8_t *r = rec(b, i);

		if ((!kind || rec_kind(r) == kind) &&
		    !strcmp(b->strs + rd32(r), name)) {
			/* a forward declaration is not the type itself */
			if (!kind && rec_kind(r) == BTF_KIND_FWD)
				continue;
			*id = i;
			return 0;
		}
	}
	return -ENOENT;
}

uint32_t btf_resolve(const struct btf *b, uint32_t id)
{
	unsigned depth;

	for (depth = 0; depth < MAX_DEPTH; depth++) {
		switch (btf_kind(b, id)) {
		case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = btf_ref(b, id);
			break;
		default:
			return id;
		}
	}
	return 0;
}

static int type_size(const struct btf *b, uint32_t id, uint64_t *size,
		     unsigned depth)
{
	const uint8_t *r;
	uint64_t elem;
	int rc;

	if (depth > MAX_DEPTH)
		return -EINVAL;
	id = btf_resolve(b, id);
	r = rec(b, id);
	if (!r)
		return -EINVAL;
	switch (rec_kind(r)) {
	case BTF_KIND_INT: case BTF_KIND_ENUM: case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: case BTF_KIND_FLOAT: case BTF_KIND_DATASEC:
	case BTF_KIND_ENUM64:
		*size = rd32(r + 8);
		return 0;
	case BTF_KIND_PTR:
		*size = b->ptr_size;
		return 0;
	case BTF_KIND_ARRAY:
		rc = type_size(b, rd32(r + REC), &elem, depth + 1);
		if (rc)
			return rc;
		*size = elem * rd32(r + REC + 8);
		return 0;
	default:
		return -EINVAL;
	}
}

int btf_type_size(const struct btf *b, uint32_t id, uint64_t *size)
{
	return type_size(b, id, size, 0);
}

static void member_info(const struct btf *b, const uint8_t *r,
			const uint8_t *m, struct btf_member_info *out)
{
	uint32_t off = rd32(m + 8);

	if (rec_kflag(r)) {
		out->bit_offset = off & 0xffffff;
		out->bit_size = off >> 24;
	} else {
		out->bit_offset = off;
		out->bit_size = 0;
	}
	out->type = rd32(m + 4);
	if (type_size(b, out->type, &out->size, 0))
		out->size = 0;
}

int btf_member_at(const struct btf *b, uint32_t id, unsigned i,
		  const char **name, struct btf_member_info *out)
{
	const uint8_t *r;

	id = btf_resolve(b, id);
	r = rec(b, id);
	if (!r || (rec_kind(r) != BTF_KIND_STRUCT &&
		   rec_kind(r) != BTF_KIND_UNION) || i >= rec_vlen(r))
		return -ENOENT;
	member_info(b, r, r + REC + 12u * i, out);
	*name = b->strs + rd32(r + REC + 12u * i);
	return 0;
}

/* One path component in a struct/union, looking into anonymous members. */
static int find_component(const struct btf *b, uint32_t id, const char *name,
			  size_t nlen, struct btf_member_info *out,
			  unsigned depth)
{
	const uint8_t *r, *m;
	unsigned i, vlen;

	if (depth > 8)
		return -ENOENT;
	id = btf_resolve(b, id);
	r = rec(b, id);
	if (!r || (rec_kind(r) != BTF_KIND_STRUCT &&
		   rec_kind(r) != BTF_KIND_UNION))
		return -EINVAL;
	vlen = rec_vlen(r);
	for (i = 0, m = r + REC; i < vlen; i++, m += 12) {
		const char *mn = b->strs + rd32(m);

		if (strlen(mn) == nlen && !memcmp(mn, name, nlen)) {
			member_info(b, r, m, out);
			return 0;
		}
	}
	for (i = 0, m = r + REC; i < vlen; i++, m += 12) {
		struct btf_member_info anon, inner;
		unsigned k;

		if (b->strs[rd32(m)])
			continue;
		member_info(b, r, m, &anon);
		k = btf_kind(b, btf_resolve(b, anon.type));
		if (k != BTF_KIND_STRUCT && k != BTF_KIND_UNION)
			continue;
		if (find_component(b, anon.type, name, nlen, &inner,
				   depth + 1) == 0) {
			inner.bit_offset += anon.bit_offset;
			*out = inner;
			return 0;
		}
	}
	return -ENOENT;
}

int btf_member(const struct btf *b, uint32_t id, const char *path,
	       struct btf_member_info *out)
{
	struct btf_member_info cur = { 0, 0, id, 0 }, m;
	const char *p = path;
	unsigned depth = 0;

	for (;;) {
		size_t n = strcspn(p, ".");
		int rc;

		if (!n || ++depth > MAX_DEPTH)
			return -ENOENT;
		rc = find_component(b, cur.type, p, n, &m, 0);
		if (rc)
			return rc;
		m.bit_offset += cur.bit_offset;
		cur = m;
		if (!p[n])
			break;
		p += n + 1;
	}
	*out = cur;
	return 0;
}

int btf_enum_value(const struct btf *b, const char *name, int64_t *value)
{
	uint32_t id;

	for (id = 1; id < b->n; id++) {
		const uint8_t *r = rec(b, id), *m = r + REC;
		unsigned kind = rec_kind(r), vlen = rec_vlen(r), i;

		if (kind != BTF_KIND_ENUM && kind != BTF_KIND_ENUM64)
			continue;
		for (i = 0; i < vlen; i++, m += kind == BTF_KIND_ENUM ? 8 : 12) {
			if (strcmp(b->strs + rd32(m), name))
				continue;
			if (kind == BTF_KIND_ENUM)
				*value = rec_kflag(r) ? (int64_t)rd32(m + 4) :
					 (int64_t)(int32_t)rd32(m + 4);
			else
				*value = (int64_t)((uint64_t)rd32(m + 4) |
						   (uint64_t)rd32(m + 8) << 32);
			return 0;
		}
	}
	return -ENOENT;
}

int btf_array(const struct btf *b, uint32_t id, uint32_t *elem,
	      uint32_t *count)
{
	const uint8_t *r = rec(b, btf_resolve(b, id));

	if (!r || rec_kind(r) != BTF_KIND_ARRAY)
		return -EINVAL;
	*elem = rd32(r + REC);
	*count = rd32(r + REC + 8);
	return 0;
}

int btf_int(const struct btf *b, uint32_t id, unsigned *bytes,
	    bool *is_signed)
{
	const uint8_t *r = rec(b, btf_resolve(b, id));

	if (!r || rec_kind(r) != BTF_KIND_INT)
		return -EINVAL;
	*bytes = rd32(r + 8);
	*is_signed = (rd32(r + REC) >> 24) & 1;
	return 0;
}
