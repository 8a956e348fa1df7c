/* Small files: /proc entries, cgroup control files, pid files. One reader
 * and one writer for the whole controller. */
#ifndef CHAOS_FILE_H
#define CHAOS_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Read a file into buf (at most len-1 bytes, NUL-terminated; len >= 1),
 * retrying EINTR. A longer file is cut at len-1 bytes. Returns the number
 * of bytes read or -errno (buf is then ""). */
ssize_t chaos_read_small(const char *path, char *buf, size_t len);

/* Write val to an existing file with one write() (cgroup files take one
 * value per write), retrying EINTR. Returns 0, -EIO on a short write, or
 * -errno. */
int chaos_write_small(const char *path, const char *val);

/* mkdir -p: create dir and its missing parents (mode 0755). An existing
 * directory is fine. Returns 0, -ENAMETOOLONG, or -errno of the mkdir that
 * failed. */
int chaos_mkdir_p(const char *dir);

#endif
