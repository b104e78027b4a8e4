#include "microvm/elf.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/fs.h"

/* The whole file: agents and modules are small (a few MiB at most). */
static int load(const char *path, char **buf, size_t *len, vs_err *err)
{
	if (vs_read_file(path, buf, len, err) < 0)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)*buf;
	if (*len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		free(*buf);
		*buf = NULL;
		return vs_fail(err, 0, "%s: not a 64-bit little-endian ELF file", path);
	}
	return 0;
}

/* Whether [off, off + n*size) lies in the file. */
static bool within(size_t len, uint64_t off, uint64_t n, uint64_t size)
{
	return size && n <= (len / size) && off <= len - n * size;
}

int vs_elf_check_static(const char *path, vs_err *err)
{
	vs_autofree char *buf = NULL;
	size_t len;
	if (load(path, &buf, &len, err) < 0)
		return -1;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return vs_fail(err, 0, "%s: not an executable", path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !within(len, eh->e_phoff, eh->e_phnum, sizeof(Elf64_Phdr)))
		return vs_fail(err, 0, "%s: program headers out of bounds", path);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	for (size_t i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_INTERP)
			return vs_fail(err, 0,
				       "%s: dynamically linked (has an ELF interpreter); the guest "
				       "agent must be a static executable",
				       path);
	return 0;
}

static const Elf64_Shdr *find_section(const char *buf, size_t len, const char *name,
				      const char *path, vs_err *err)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !within(len, eh->e_shoff, eh->e_shnum, sizeof(Elf64_Shdr)) ||
	    eh->e_shstrndx >= eh->e_shnum) {
		vs_fail(err, 0, "%s: section headers out of bounds", path);
		return NULL;
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
	const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
	if (!within(len, strs->sh_offset, strs->sh_size, 1)) {
		vs_fail(err, 0, "%s: section names out of bounds", path);
		return NULL;
	}
	for (size_t i = 0; i < eh->e_shnum; i++) {
		size_t off = sh[i].sh_name, nl = strlen(name);
		if (off < strs->sh_size && strs->sh_size - off > nl &&
		    !memcmp(buf + strs->sh_offset + off, name, nl + 1)) {
			if (!within(len, sh[i].sh_offset, sh[i].sh_size, 1)) {
				vs_fail(err, 0, "%s: section %s out of bounds", path, name);
				return NULL;
			}
			return &sh[i];
		}
	}
	vs_fail(err, 0, "%s: no %s section (not a kernel module?)", path, name);
	return NULL;
}

int vs_elf_modinfo(const char *path, const char *key, char **out, vs_err *err)
{
	vs_autofree char *buf = NULL;
	size_t len;
	if (load(path, &buf, &len, err) < 0)
		return -1;
	const Elf64_Shdr *s = find_section(buf, len, ".modinfo", path, err);
	if (!s)
		return -1;
	/* NUL-separated "key=value" strings. */
	const char *p = buf + s->sh_offset, *end = p + s->sh_size;
	size_t kl = strlen(key);
	const char *found = "";
	size_t flen = 0;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		if (n > kl && !memcmp(p, key, kl) && p[kl] == '=') {
			found = p + kl + 1;
			flen = n - kl - 1;
			break;
		}
		p += n + 1;
	}
	*out = strndup(found, flen);
	return *out ? 0 : vs_fail(err, ENOMEM, "%s: modinfo", path);
}
