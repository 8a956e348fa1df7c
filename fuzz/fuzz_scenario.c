/* Fuzz the scenario parser, chaos_scenario_load() in chaos/check/scenario.c.
 *
 * The input is a scenario file. Properties checked beyond memory safety:
 * - a file with a NUL byte is refused (no key can hold one);
 * - a refused file yields -EINVAL/-ENOMEM/-EIO, an error message of the form
 *   "path:line: ..." whose line exists in the input, and nothing left
 *   allocated in the structure;
 * - an accepted file satisfies every bound the controller relies on
 *   (task ids and worker indexes in range, deadline, policy, limits);
 * - the task spec file the controller writes for an accepted scenario is
 *   read back by the task kit (chaos_task_parse_file) to the same specs:
 *   two independent parsers of docs/protocol.md section 1 must agree.
 */
#include "fuzz.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "check/scenario.h"
#include "../scenarios/kit/chaos_task.h"

/* The round trip writes one line per task; above this many tasks it would
 * dominate the time per input without exercising anything new. */
#define FUZZ_SC_ROUNDTRIP_MAX 2000u

static struct fuzz_file fuzz_sc_in = FUZZ_FILE_INIT;
static struct fuzz_file fuzz_sc_spec = FUZZ_FILE_INIT;

static int fuzz_sc_valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	}
	return 1;
}

/* The error message must name the input and a line that exists in it. */
static void fuzz_sc_check_error(const char *err, const uint8_t *data, size_t size)
{
	size_t plen = strlen(fuzz_sc_in.path), i, lines = 1;
	char *end = NULL;
	unsigned long line;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	FUZZ_CHECK(strncmp(err, fuzz_sc_in.path, plen) == 0 && err[plen] == ':');
	if (strncmp(err, fuzz_sc_in.path, plen) || err[plen] != ':')
		return;
	/* "path: out of memory" and "path: read error" carry no line. */
	if (err[plen + 1] < '0' || err[plen + 1] > '9')
		return;
	line = strtoul(err + plen + 1, &end, 10);
	if (*end != ':' || line < 1 || line > lines)
		fprintf(stderr, "error message: %s (input has %zu lines)\n", err, lines);
	FUZZ_CHECK(*end == ':');
	FUZZ_CHECK(line >= 1 && line <= lines);
}

static void fuzz_sc_check_accepted(const struct chaos_scenario *sc)
{
	size_t i;

	FUZZ_CHECK(sc->tasks != NULL);
	FUZZ_CHECK(sc->ntasks >= 1 && sc->ntasks <= 100000);
	FUZZ_CHECK(sc->workers >= 1 && sc->workers <= 1024);
	FUZZ_CHECK(!strcmp(sc->policy, "skip") || !strcmp(sc->policy, "abort") ||
		   !strcmp(sc->policy, "retry"));
	FUZZ_CHECK(strcmp(sc->policy, "retry") || sc->retries >= 1);
	FUZZ_CHECK(fuzz_sc_valid_name(sc->name));
	FUZZ_CHECK(sc->deadline_ms >= 1 && sc->deadline_ms <= 3600u * 1000u);
	FUZZ_CHECK(sc->task_timeout_ms < sc->deadline_ms);
	FUZZ_CHECK(sc->nfaults <= 256);
	FUZZ_CHECK(sc->nfaults == 0 || sc->faults != NULL);
	FUZZ_CHECK(sc->mem_mode == CHAOS_MEM_NONE || sc->mem_limit >= (4ull << 20));
	FUZZ_CHECK(sc->abort_within_ms >= 1);
	for (i = 0; i < sc->ntasks; i++) {
		FUZZ_CHECK((unsigned)sc->tasks[i].action <= CHAOS_ACT_SEGV);
		FUZZ_CHECK(sc->tasks[i].exit_code >= 0 && sc->tasks[i].exit_code <= 255);
	}
	for (i = 0; i < sc->nfaults; i++) {
		const struct chaos_fault *f = &sc->faults[i];

		FUZZ_CHECK((unsigned)f->kind <= CHAOS_FAULT_PRESSURE);
		FUZZ_CHECK(f->line >= 1);
		if (f->kind == CHAOS_FAULT_ON_START)
			FUZZ_CHECK(f->task < sc->ntasks);
		else
			FUZZ_CHECK(f->delay_ms < sc->deadline_ms);
		if (f->kind == CHAOS_FAULT_AT_TIME)
			FUZZ_CHECK(f->worker < sc->workers);
		if (f->kind == CHAOS_FAULT_EVERY)
			FUZZ_CHECK(f->interval_ms >= 1 && f->count >= 1);
		if (f->kind == CHAOS_FAULT_PRESSURE)
			FUZZ_CHECK(f->signo == 0 && f->bytes > 0 && f->duration_ms > 0);
		else
			FUZZ_CHECK(f->signo >= 1 && f->signo <= 64); /* check/value.c */
		FUZZ_CHECK(f->cont_after_ms == 0 || f->signo == SIGSTOP);
	}
}

/* Controller writes the task spec, the kit reads it: same specs back. */
static void fuzz_sc_roundtrip(const struct chaos_scenario *sc)
{
	struct chaos_task_def *defs = NULL;
	char err[512] = "";
	uint32_t n = 0, i;
	int r;

	if (sc->ntasks > FUZZ_SC_ROUNDTRIP_MAX)
		return;
	if (fuzz_file_put(&fuzz_sc_spec, "fuzz-spec", "", 0))
		return;
	r = chaos_scenario_write_tasks(sc, fuzz_sc_spec.path);
	FUZZ_CHECK(r == 0);
	if (r)
		return;
	r = chaos_task_parse_file(fuzz_sc_spec.path, &defs, &n, err, sizeof(err));
	if (r)
		fprintf(stderr, "kit refused the written spec: %s\n", err);
	FUZZ_CHECK(r == 0);
	if (r)
		return;
	FUZZ_CHECK(n == sc->ntasks);
	for (i = 0; i < n && i < sc->ntasks; i++) {
		const struct chaos_task_spec *t = &sc->tasks[i];

		FUZZ_CHECK(defs[i].sleep_ms == t->sleep_ms);
		FUZZ_CHECK(defs[i].alloc_bytes == t->alloc_bytes);
		FUZZ_CHECK((int)defs[i].action == (int)t->action);
		FUZZ_CHECK(defs[i].exit_code == t->exit_code);
		FUZZ_CHECK(defs[i].times == t->times);
		FUZZ_CHECK(defs[i].result == t->result);
	}
	free(defs);
}

FUZZ_TARGET(scenario)
{
	struct chaos_scenario sc;
	char err[1024];
	int r;

	if (fuzz_file_put(&fuzz_sc_in, "fuzz-scenario", data, size))
		return 0;
	memset(err, 'x', sizeof(err));
	r = chaos_scenario_load(&sc, fuzz_sc_in.path, err, sizeof(err));
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (r) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM || r == -EIO);
		FUZZ_CHECK(err[0] != '\0');
		fuzz_sc_check_error(err, data, size);
		FUZZ_CHECK(sc.tasks == NULL && sc.faults == NULL);
		return 0;
	}
	/* No key can hold a NUL byte: a file with one was misread. */
	FUZZ_CHECK(memchr(data, '\0', size) == NULL);
	fuzz_sc_check_accepted(&sc);
	fuzz_sc_roundtrip(&sc);
	chaos_scenario_free(&sc);
	return 0;
}
