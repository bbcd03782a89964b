// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Volatility 3 ISF reader over json-c (and liblzma for .json.xz): keeps the
 * parsed document and answers lookups of symbols, types and fields from
 * it. Every value taken from the document is type-checked; a field path
 * walks a bounded number of nested types.
 */
#include "os-awareness/isf.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ISF_MAX_BYTES (2ull << 30)
#define MAX_DEPTH 16

struct isf {
	struct json_object *root;
	struct json_object *user_types, *base_types, *enums, *symbols;
	char os[16];
	char producer[96];
	const char *format;
};

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static bool get_u64(struct json_object *o, const char *key, uint64_t *out)
{
	struct json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	if (json_object_get_int64(v) < 0)
		*out = (uint64_t)json_object_get_int64(v);
	else
		*out = json_object_get_uint64(v);
	return true;
}

int isf_parse(const char *text, size_t len, const char *name,
	      struct isf **out, struct strbuf *why)
{
	struct json_tokener *tok;
	struct json_object *root, *meta;
	struct isf *isf;
	enum json_tokener_error err;
	const char *s;

	*out = NULL;
	if (len > 0x7fffffff) {
		strbuf_addf(why, "%s: %zu bytes of JSON is too much", name, len);
		return -EINVAL;
	}
	tok = json_tokener_new_ex(64);
	if (!tok) {
		strbuf_addf(why, "%s: out of memory", name);
		return -ENOMEM;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	err = json_tokener_get_error(tok);
	if (!root || err != json_tokener_success) {
		strbuf_addf(why, "%s: not JSON: %s at byte %zu", name,
			    json_tokener_error_desc(err == json_tokener_success ?
						    json_tokener_continue : err),
			    json_tokener_get_parse_end(tok));
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	meta = get(root, "metadata");
	if (!json_object_is_type(root, json_type_object) || !meta ||
	    !get(root, "user_types") || !get(root, "symbols")) {
		strbuf_addf(why, "%s: not a Volatility 3 symbol table (no metadata, user_types or symbols)",
			    name);
		json_object_put(root);
		return -EINVAL;
	}
	isf = xcalloc(1, sizeof(*isf));
	isf->root = root;
	isf->user_types = get(root, "user_types");
	isf->base_types = get(root, "base_types");
	isf->enums = get(root, "enums");
	isf->symbols = get(root, "symbols");
	isf->format = get_str(meta, "format");
	if (get(meta, "linux"))
		snprintf(isf->os, sizeof(isf->os), "linux");
	else if (get(meta, "windows"))
		snprintf(isf->os, sizeof(isf->os), "windows");
	else if (get(meta, "mac"))
		snprintf(isf->os, sizeof(isf->os), "mac");
	s = get_str(get(meta, "producer"), "name");
	if (s)
		snprintf(isf->producer, sizeof(isf->producer), "%s %s", s,
			 get_str(get(meta, "producer"), "version") ?
			 get_str(get(meta, "producer"), "version") : "");
	*out = isf;
	return 0;
}

static int read_file(const char *path, uint8_t **data, size_t *len,
		     struct strbuf *why)
{
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	*data = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		strbuf_addf(why, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > ISF_MAX_BYTES) {
		strbuf_addf(why, "%s: not a regular file of at most 2 GiB", path);
		rc = -EINVAL;
		goto out_close;
	}
	*data = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		n = read(fd, *data + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			strbuf_addf(why, "%s: cannot read: %s", path,
				    strerror(-rc));
			free(*data);
			*data = NULL;
			goto out_close;
		}
		got += (size_t)n;
	}
	*len = got;
out_close:
	close(fd);
	return rc;
}

static int unxz(const uint8_t *in, size_t len, const char *name,
		struct strbuf *out, struct strbuf *why)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret ret;
	int rc = 0;

	ret = lzma_stream_decoder(&strm, UINT64_MAX, LZMA_CONCATENATED);
	if (ret != LZMA_OK) {
		strbuf_addf(why, "%s: cannot start the xz decoder (%d)", name,
			    (int)ret);
		return -ENOMEM;
	}
	strm.next_in = in;
	strm.avail_in = len;
	do {
		strbuf_grow(out, 1u << 20);
		strm.next_out = (uint8_t *)out->buf + out->len;
		strm.avail_out = out->alloc - out->len - 1;
		ret = lzma_code(&strm, LZMA_FINISH);
		strbuf_setlen(out, out->alloc - 1 - strm.avail_out);
		if (out->len > ISF_MAX_BYTES) {
			strbuf_addf(why, "%s: decompresses to more than 2 GiB",
				    name);
			rc = -EINVAL;
			break;
		}
	} while (ret == LZMA_OK);
	if (!rc && ret != LZMA_STREAM_END) {
		strbuf_addf(why, "%s: corrupt xz data (liblzma error %d)", name,
			    (int)ret);
		rc = -EINVAL;
	}
	lzma_end(&strm);
	return rc;
}

int isf_load(const char *path, struct isf **out, struct strbuf *why)
{
	static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	uint8_t *data;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_file(path, &data, &len, why);
	if (rc)
		return rc;
	if (len >= sizeof(xz_magic) && !memcmp(data, xz_magic, sizeof(xz_magic))) {
		struct strbuf text = STRBUF_INIT;

		rc = unxz(data, len, path, &text, why);
		if (!rc)
			rc = isf_parse(text.buf, text.len, path, out, why);
		strbuf_release(&text);
	} else {
		rc = isf_parse((const char *)data, len, path, out, why);
	}
	free(data);
	return rc;
}

void isf_free(struct isf *isf)
{
	if (!isf)
		return;
	json_object_put(isf->root);
	free(isf);
}

const char *isf_os(const struct isf *isf) { return isf->os; }
const char *isf_format(const struct isf *isf)
{
	return isf->format ? isf->format : "";
}
const char *isf_producer(const struct isf *isf) { return isf->producer; }

int isf_pdb(const struct isf *isf, const char **guid, uint32_t *age)
{
	struct json_object *pdb = get(get(get(isf->root, "metadata"), "windows"),
				      "pdb");
	uint64_t a;

	if (!pdb || !get_str(pdb, "GUID") || !get_u64(pdb, "age", &a))
		return -ENOENT;
	*guid = get_str(pdb, "GUID");
	*age = (uint32_t)a;
	return 0;
}

int isf_symbol(const struct isf *isf, const char *name, uint64_t *addr)
{
	return get_u64(get(isf->symbols, name), "address", addr) ? 0 : -ENOENT;
}

int isf_foreach_symbol(const struct isf *isf,
		       int (*fn)(void *ctx, const char *name, uint64_t addr),
		       void *ctx)
{
	struct json_object_iterator it, end;

	if (!json_object_is_type(isf->symbols, json_type_object))
		return 0;
	it = json_object_iter_begin(isf->symbols);
	end = json_object_iter_end(isf->symbols);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		uint64_t a;
		int rc;

		if (!get_u64(json_object_iter_peek_value(&it), "address", &a))
			continue;
		rc = fn(ctx, json_object_iter_peek_name(&it), a);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_symbol(void *ctx, const char *name, uint64_t addr)
{
	symtab_add(ctx, addr, '?', name, strlen(name));
	return 0;
}

size_t isf_symbols(const struct isf *isf, struct symtab *st)
{
	size_t before = symtab_count(st);

	isf_foreach_symbol(isf, add_symbol, st);
	symtab_finish(st);
	return symtab_count(st) - before;
}

static int b64(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int isf_symbol_data(const struct isf *isf, const char *name, uint8_t **data,
		    size_t *len)
{
	const char *s = get_str(get(isf->symbols, name), "constant_data");
	size_t n, i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	uint8_t *buf;

	if (!s)
		return -ENOENT;
	n = strlen(s);
	buf = xmalloc(n / 4 * 3 + 3);
	for (i = 0; i < n && s[i] != '='; i++) {
		int v = b64((unsigned char)s[i]);

		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	*data = buf;
	*len = o;
	return 0;
}

static struct json_object *user_type(const struct isf *isf, const char *name)
{
	struct json_object *t = get(isf->user_types, name);

	return t && json_object_is_type(t, json_type_object) ? t : NULL;
}

const char *isf_type_kind(const struct isf *isf, const char *name)
{
	return get_str(user_type(isf, name), "kind");
}

int isf_type_size(const struct isf *isf, const char *name, uint64_t *size)
{
	if (get_u64(user_type(isf, name), "size", size) ||
	    get_u64(get(isf->enums, name), "size", size) ||
	    get_u64(get(isf->base_types, name), "size", size))
		return 0;
	return -ENOENT;
}

/* Size of a field's type description, 0 when unknown. */
static uint64_t desc_size(const struct isf *isf, struct json_object *t,
			  unsigned depth)
{
	const char *kind = get_str(t, "kind"), *name = get_str(t, "name");
	uint64_t v = 0, count;

	if (!kind || depth > MAX_DEPTH)
		return 0;
	if (!strcmp(kind, "pointer"))
		return isf_type_size(isf, "pointer", &v) ? 8 : v;
	if (!strcmp(kind, "array"))
		return get_u64(t, "count", &count) ?
		       count * desc_size(isf, get(t, "subtype"), depth + 1) : 0;
	if (!strcmp(kind, "bitfield"))
		return desc_size(isf, get(t, "type"), depth + 1);
	if (name && !isf_type_size(isf, name, &v))
		return v;
	return 0;
}

static bool is_anonymous(const char *fname, struct json_object *f)
{
	struct json_object *a = get(f, "anonymous");

	if (a && json_object_is_type(a, json_type_boolean))
		return json_object_get_boolean(a);
	return !strncmp(fname, "unnamed_field", 13);
}

static int find_field(const struct isf *isf, const char *type,
		      const char *name, size_t nlen, struct isf_field *out,
		      struct json_object **desc, unsigned depth)
{
	struct json_object *fields = get(user_type(isf, type), "fields");
	struct json_object_iterator it, end;
	char key[256];

	if (!fields || depth > MAX_DEPTH || nlen >= sizeof(key) ||
	    !json_object_is_type(fields, json_type_object))
		return -ENOENT;
	memcpy(key, name, nlen);
	key[nlen] = 0;
	if (get(fields, key)) {
		struct json_object *f = get(fields, key);

		if (!get_u64(f, "offset", &out->offset) || !get(f, "type"))
			return -ENOENT;
		*desc = get(f, "type");
		return 0;
	}
	it = json_object_iter_begin(fields);
	end = json_object_iter_end(fields);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		struct json_object *f = json_object_iter_peek_value(&it);
		const char *fname = json_object_iter_peek_name(&it);
		const char *sub = get_str(get(f, "type"), "name");
		uint64_t base;

		if (!is_anonymous(fname, f) || !sub ||
		    !get_u64(f, "offset", &base))
			continue;
		if (find_field(isf, sub, name, nlen, out, desc,
			       depth + 1) == 0) {
			out->offset += base;
			return 0;
		}
	}
	return -ENOENT;
}

int isf_field(const struct isf *isf, const char *type, const char *path,
	      struct isf_field *out)
{
	const char *p = path, *cur = type;
	uint64_t total = 0;
	unsigned depth = 0;

	for (;;) {
		struct json_object *desc = NULL, *t;
		size_t n = strcspn(p, ".");
		const char *kind;

		memset(out, 0, sizeof(*out));
		if (!n || !cur || ++depth > MAX_DEPTH ||
		    find_field(isf, cur, p, n, out, &desc, 0))
			return -ENOENT;
		total += out->offset;
		out->offset = total;
		kind = get_str(desc, "kind");
		out->kind = kind ? kind : "";
		out->type_name = "";
		out->size = desc_size(isf, desc, 0);
		t = desc;
		if (kind && !strcmp(kind, "bitfield")) {
			uint64_t v;

			if (get_u64(desc, "bit_position", &v))
				out->bit_position = (uint32_t)v;
			if (get_u64(desc, "bit_length", &v))
				out->bit_length = (uint32_t)v;
			t = get(desc, "type");
		}
		if (kind && !strcmp(kind, "array")) {
			uint64_t v;

			if (get_u64(desc, "count", &v))
				out->count = (uint32_t)v;
		}
		if (get_str(t, "name"))
			out->type_name = get_str(t, "name");
		if (!p[n])
			return 0;
		cur = get_str(t, "name");
		p += n + 1;
	}
}

struct name_off {
	const char *name;
	uint64_t off;
};

static int cmp_off(const void *a, const void *b)
{
	const struct name_off *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int isf_fields(const struct isf *isf, const char *type, const char ***names)
{
	struct json_object *fields = get(user_type(isf, type), "fields");
	struct json_object_iterator it, end;
	struct name_off *v;
	size_t n, i = 0;

	*names = NULL;
	if (!fields || !json_object_is_type(fields, json_type_object))
		return -ENOENT;
	n = (size_t)json_object_object_length(fields);
	v = xcalloc(n ? n : 1, sizeof(*v));
	it = json_object_iter_begin(fields);
	end = json_object_iter_end(fields);
	for (; !json_object_iter_equal(&it, &end) && i < n;
	     json_object_iter_next(&it)) {
		uint64_t off;

		if (!get_u64(json_object_iter_peek_value(&it), "offset", &off))
			continue;
		v[i].name = json_object_iter_peek_name(&it);
		v[i++].off = off;
	}
	qsort(v, i, sizeof(*v), cmp_off);
	*names = xcalloc(i ? i : 1, sizeof(**names));
	for (n = 0; n < i; n++)
		(*names)[n] = v[n].name;
	free(v);
	return (int)i;
}

int isf_enum_value(const struct isf *isf, const char *enum_name,
		   const char *constant, int64_t *value)
{
	struct json_object *c = get(get(get(isf->enums, enum_name), "constants"),
				    constant);

	if (!c || !json_object_is_type(c, json_type_int))
		return -ENOENT;
	*value = json_object_get_int64(c);
	return 0;
}

int isf_base_type(const struct isf *isf, const char *name, uint64_t *size,
		  bool *is_signed)
{
	struct json_object *t = get(isf->base_types, name), *s = get(t, "signed");

	if (!get_u64(t, "size", size))
		return -ENOENT;
	*is_signed = s && json_object_is_type(s, json_type_boolean) &&
		     json_object_get_boolean(s);
	return 0;
}
