'use strict';
/*
 * The task kit, Node.js side: what a Node.js pool under test runs per task.
 *
 * `await run(id)` behaves like the C kit's chaos_task_run() and the Python
 * kit's chaos_task.run() (docs/protocol.md sections 1 and 2): it reads the
 * task spec named by CHAOS_TASKS, reports `start <id>` on the socket named by
 * CHAOS_EVENTS, waits at most 30 s for `go <attempt>` (CHAOS_GO_TIMEOUT_MS
 * overrides this for tests) and then sleeps, allocates and touches memory,
 * and resolves with the result, rejects with TaskError, exits, hangs or kills
 * itself as the spec says. Without CHAOS_EVENTS it runs silently as attempt
 * 1; without CHAOS_TASKS every task resolves to id*id at once.
 *
 * Waiting for `go` is asynchronous in Node, so run() returns a Promise: the
 * worker's task function must await it (or return it) so that the worker is
 * busy with the task until it settles. No dependencies, so that it loads in
 * any worker; the controller puts the directory above this package on
 * NODE_PATH, so `require('chaos-task')` works in every target (CommonJS;
 * an ES module uses createRequire(import.meta.url)('chaos-task')).
 *
 * Results are signed 64-bit integers. A result that a JS number holds
 * exactly comes as a number; a larger one as its decimal string, because
 * pools carry results between processes as JSON, which has no BigInt.
 */
const fs = require('fs');
const net = require('net');

const EXIT_NO_GO = 70;
const LINE_MAX = 256;
const GO_TIMEOUT_MS = 30000;
const SPEC_LINE_MAX = 1024;
const SPEC_TASKS_MAX = 1000000;
const ACTIONS = ['ok', 'exit', 'fail', 'hang', 'selfkill', 'segv'];
/* Touching every 4096th byte touches every page whatever the page size. */
const PAGE = 4096;
/* One Buffer holds at most buffer.constants.MAX_LENGTH; allocate in chunks. */
const CHUNK = 1 << 30;

/* action=fail. taskId names the task for pools that carry only the message
 * of an error back from a worker. */
class TaskError extends Error {
	constructor(taskId, text) {
		super(text);
		this.name = 'TaskError';
		this.taskId = taskId;
		this.text = text;
	}
}

/* The task spec file is malformed; the message names file and line. */
class SpecError extends Error {
	constructor(text) {
		super(text);
		this.name = 'SpecError';
	}
}

function defaults(id) {
	const r = BigInt(id);

	return { sleep: 0, alloc: 0, action: 'ok', code: 0, times: 1, result: r * r };
}

const DIGITS = /^[0-9]+$/;

function uint(val, max) {
	if (!DIGITS.test(val) || BigInt(val) > max)
		throw new RangeError(val);
	return Number(val);
}

function parseValue(d, key, val) {
	switch (key) {
	case 'sleep':
		d.sleep = uint(val, 2n ** 32n - 1n);
		break;
	case 'alloc':
		d.alloc = uint(val, 2n ** 64n - 1n);
		break;
	case 'action':
		if (!ACTIONS.includes(val))
			throw new RangeError(val);
		d.action = val;
		break;
	case 'code':
		d.code = uint(val, 255n);
		break;
	case 'times':
		d.times = uint(val, 2n ** 32n - 1n);
		break;
	case 'result': {
		const v = /^[+-]?[0-9]+$/.test(val) ? BigInt(val) : null;

		if (v === null || v < -(2n ** 63n) || v >= 2n ** 63n)
			throw new RangeError(val);
		d.result = v;
		break;
	}
	default:
		throw new SpecError(`unknown key '${key.slice(0, 32)}' (expected sleep, alloc, ` +
				    'action, code, times, result)');
	}
}

/* One task line; throws SpecError with the reason (no file or line). */
function parseTaskLine(line, expectId) {
	const toks = line.split(/\s+/).filter((t) => t !== '');

	if (!toks.length || !DIGITS.test(toks[0]))
		throw new SpecError('expected a task id at the start of the line');
	if (Number(toks[0]) !== expectId)
		throw new SpecError(`task id ${toks[0]} out of order (expected ${expectId})`);
	const d = defaults(expectId);
	for (const tok of toks.slice(1)) {
		const eq = tok.indexOf('=');
		const key = eq < 0 ? '' : tok.slice(0, eq);
		const val = tok.slice(eq + 1);

		if (!key)
			throw new SpecError(`expected key=value, got '${tok.slice(0, 64)}'`);
		try {
			parseValue(d, key, val);
		} catch (e) {
			if (e instanceof SpecError)
				throw e;
			throw new SpecError(`bad value '${val.slice(0, 64)}' for ${key}`);
		}
	}
	return d;
}

function parseHeader(path, line) {
	const parts = line.split(/\s+/).filter((t) => t !== '');

	if (parts.length !== 3 || parts[0] !== 'chaos-tasks' || !DIGITS.test(parts[1]) ||
	    !DIGITS.test(parts[2]))
		throw new SpecError(`${path}:1: expected header 'chaos-tasks 1 <ntasks>'`);
	if (parts[1] !== '1')
		throw new SpecError(`${path}:1: task spec version ${parts[1]} is not supported ` +
				    '(expected 1)');
	const ntasks = Number(parts[2]);
	if (ntasks > SPEC_TASKS_MAX)
		throw new SpecError(`${path}:1: ${ntasks} tasks is more than the limit ` +
				    `${SPEC_TASKS_MAX}`);
	return ntasks;
}

/*
 * Parse a task spec file into an array of {sleep, alloc, action, code, times,
 * result (a BigInt)}; throws SpecError with 'path:line: why' for a malformed
 * file, the fs error when it cannot be read.
 */
function parseSpec(path) {
	const text = fs.readFileSync(path, 'latin1');
	const raws = text.split(/(?<=\n)/).filter((r) => r !== '');
	const defs = [];
	let ntasks = null;
	let lineno = 0;

	for (const raw of raws) {
		lineno++;
		if (raw.length > SPEC_LINE_MAX)
			throw new SpecError(`${path}:${lineno}: line longer than ${SPEC_LINE_MAX} bytes`);
		const line = raw.replace(/\n$/, '');
		if (lineno === 1) {
			ntasks = parseHeader(path, line);
			continue;
		}
		if (defs.length >= ntasks)
			throw new SpecError(`${path}:${lineno}: more task lines than the header's ` +
					    `${ntasks}`);
		try {
			defs.push(parseTaskLine(line, defs.length));
		} catch (e) {
			throw new SpecError(`${path}:${lineno}: ${e.message}`);
		}
	}
	if (ntasks === null)
		throw new SpecError(`${path}:0: empty file (expected header 'chaos-tasks 1 ` +
				    "<ntasks>')");
	if (defs.length !== ntasks)
		throw new SpecError(`${path}:${lineno}: ${defs.length} task lines, header says ` +
				    `${ntasks}`);
	return defs;
}

/* Keyed by the path, so that a test changing CHAOS_TASKS gets the new file. A
 * forked worker inherits it; any other worker parses on its first task. */
const cache = { path: null, defs: null };

function specFor(id) {
	const path = process.env.CHAOS_TASKS;

	if (!path)
		return defaults(id);
	if (cache.path !== path) {
		cache.defs = parseSpec(path);
		cache.path = path;
	}
	if (id >= cache.defs.length)
		throw new SpecError(`${path}: task ${id} is not in the spec ` +
				    `(${cache.defs.length} tasks)`);
	return cache.defs[id];
}

function goTimeoutMs() {
	const v = process.env.CHAOS_GO_TIMEOUT_MS || '';

	return DIGITS.test(v) ? Number(v) : GO_TIMEOUT_MS;
}

function connect(path) {
	return new Promise((resolve, reject) => {
		const sock = net.createConnection({ path });

		sock.once('connect', () => {
			sock.removeListener('error', reject);
			/* A controller that goes away later must not crash the
			 * worker with an unhandled 'error'. */
			sock.on('error', () => {});
			resolve(sock);
		});
		sock.once('error', reject);
	});
}

/* The attempt from 'go <attempt>', or null on timeout, EOF or a malformed
 * line. The timer bounds the whole wait. */
function waitGo(sock) {
	return new Promise((resolve) => {
		let buf = Buffer.alloc(0);
		let timer = null;
		const finish = (v) => {
			clearTimeout(timer);
			sock.removeListener('data', onData);
			sock.removeListener('end', onEnd);
			sock.removeListener('close', onEnd);
			sock.pause();
			resolve(v);
		};
		const onEnd = () => finish(null);
		const onData = (chunk) => {
			buf = Buffer.concat([buf, chunk]);
			const nl = buf.indexOf(10);
			if (nl >= 0 && nl <= LINE_MAX) {
				const m = /^go ([0-9]+)$/.exec(buf.subarray(0, nl).toString('latin1'));
				finish(m && Number(m[1]) >= 1 ? Number(m[1]) : null);
			} else if (buf.length >= LINE_MAX) {
				finish(null);
			}
		};
		timer = setTimeout(onEnd, goTimeoutMs());
		sock.on('data', onData);
		sock.on('end', onEnd);
		sock.on('close', onEnd);
	});
}

function send(sock, line) {
	return new Promise((resolve, reject) => {
		sock.write(line, (err) => (err ? reject(err) : resolve()));
	});
}

function exitNow(code) {
	/* process.exit() ends the process without waiting for the event loop,
	 * the counterpart of os._exit() and _exit() in the other kits. */
	process.exit(code);
}

/* Allocate nbytes without zeroing and write one byte per page: the kernel
 * charges only touched pages. Kept until the task returns. */
function touch(nbytes) {
	const chunks = [];

	for (let left = nbytes; left > 0; left -= CHUNK) {
		const b = Buffer.allocUnsafeSlow(Math.min(left, CHUNK));

		for (let i = 0; i < b.length; i += PAGE)
			b[i] = 1;
		b[b.length - 1] = 1;
		chunks.push(b);
	}
	return chunks;
}

async function misbehave(d) {
	switch (d.action) {
	case 'exit':
		exitNow(d.code);
		break;
	case 'hang':
		/* The interval keeps the event loop, and so the process, alive;
		 * the promise never settles: hung until killed. */
		setInterval(() => {}, 60000);
		await new Promise(() => {});
		break;
	case 'selfkill':
		process.kill(process.pid, 'SIGKILL');
		break;
	case 'segv':
		/* The pool may listen for SIGSEGV; the task must die by it. */
		process.removeAllListeners('SIGSEGV');
		process.kill(process.pid, 'SIGSEGV');
		break;
	}
	exitNow(71);
}

function resultValue(r) {
	const n = Number(r);

	return Number.isSafeInteger(n) ? n : r.toString();
}

function taskId(id) {
	const n = typeof id === 'string' && DIGITS.test(id) ? Number(id) : id;

	if (!Number.isSafeInteger(n) || n < 0)
		throw new TypeError(`task id ${String(id).slice(0, 32)} is not an integer >= 0`);
	return n;
}

/* Tell the controller; the result is real even if the controller missed it. */
async function reportEnd(sock, id, result) {
	try {
		await send(sock, `end ${id} ${result}\n`);
	} catch (e) {
		fs.writeSync(2, `chaos_task: task ${id}: send end: ${e.message}\n`);
	}
}

/*
 * Run task `id` as the spec says; resolves with its result. Rejects with
 * TaskError for action=fail, SpecError for a bad spec, the socket's error when
 * the event socket cannot be used. Never settles for action=exit, hang,
 * selfkill and segv, nor when 'go' does not arrive in time (exit 70).
 */
async function run(id) {
	id = taskId(id);
	const d = specFor(id);
	const events = process.env.CHAOS_EVENTS;
	let sock = null;
	let mem = null;

	try {
		let attempt = 1;
		if (events) {
			sock = await connect(events);
			await send(sock, `start ${id}\n`);
			attempt = await waitGo(sock);
			if (attempt === null) {
				fs.writeSync(2, `chaos_task: task ${id}: no 'go' from ${events}\n`);
				exitNow(EXIT_NO_GO);
			}
		}
		const bad = d.times === 0 || attempt <= d.times;
		if (d.sleep)
			await new Promise((resolve) => setTimeout(resolve, d.sleep));
		if (bad)
			mem = touch(d.alloc);
		if (bad && d.action === 'fail') {
			const text = `task ${id} failed on purpose (attempt ${attempt})`;
			if (sock)
				await send(sock, `fail ${id} ${text}\n`).catch(() => {});
			throw new TaskError(id, text);
		}
		if (bad && d.action !== 'ok')
			await misbehave(d);
		if (sock)
			await reportEnd(sock, id, d.result);
		return resultValue(d.result);
	} finally {
		if (mem)
			mem.length = 0;
		if (sock)
			sock.destroy();
	}
}

/* run(), resolving with [id, result]: for pools that do not say which task a
 * result belongs to. */
async function runTagged(id) {
	return [taskId(id), await run(id)];
}

module.exports = { run, runTagged, parseSpec, TaskError, SpecError, EXIT_NO_GO };
