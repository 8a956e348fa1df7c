'use strict';
/*
 * Shared plumbing for the Node.js target adapters (jest-worker, workerpool,
 * tinypool): the contract's environment and its outcome lines, the task kit
 * for the workers, and the pools installed next to this file by
 * `npm ci --prefix scenarios/targets/node` (ci/install-deps). No dependencies.
 */
const fs = require('fs');
const path = require('path');

const POLICIES = ['skip', 'abort', 'retry'];
const here = fs.realpathSync(__dirname);

function die(text) {
	fs.writeSync(2, `${path.basename(process.argv[1] || 'adapter')}: ${text}\n`);
	process.exit(2);
}

function envInt(name, dflt, min) {
	const v = process.env[name] || '';

	if (v === '')
		return dflt;
	if (!/^[0-9]+$/.test(v) || Number(v) < min)
		die(`${name}=${v} is not an integer >= ${min}`);
	return Number(v);
}

/* The adapter contract's environment, validated once. */
function config() {
	const policy = process.env.CHAOS_POLICY || 'skip';
	const ms = process.env.CHAOS_TASK_TIMEOUT_MS || '';

	if (!POLICIES.includes(policy))
		die(`CHAOS_POLICY=${policy} is not one of ${POLICIES.join(', ')}`);
	return {
		workers: envInt('CHAOS_WORKERS', 2, 1),
		ntasks: envInt('CHAOS_NTASKS', 10, 0),
		policy,
		retries: envInt('CHAOS_RETRIES', 0, 0),
		timeoutMs: /^[0-9]+$/.test(ms) && Number(ms) > 0 ? Number(ms) : null,
	};
}

/* Outcome lines are single lines: fold blanks and newlines, cap the length. */
function oneLine(text) {
	return String(text).split(/\s+/).filter((w) => w).join(' ').slice(0, 200) || '(no text)';
}

/* One outcome line, written at once: stdout on a pipe is synchronous on
 * Linux, so the controller sees each line even if the adapter hangs later. */
function emit(line) {
	fs.writeSync(1, `${line}\n`);
}

function errText(e) {
	return oneLine(e && e.message !== undefined ? `${e.name || 'Error'}: ${e.message}` : e);
}

const out = {
	result: (id, v) => emit(`result ${id} ${v}`),
	error: (id, e) => emit(`error ${id} ${errText(e)}`),
	aborted: (text) => emit(`aborted ${oneLine(text)}`),
	unsupported: (text) => {
		emit(`unsupported ${oneLine(text)}`);
		emit('done');
	},
	done: () => emit('done'),
};

/* The task kit: on NODE_PATH under the controller, next to this tree when
 * run by hand. */
function kit() {
	try {
		return require('chaos-task');
	} catch (e) {
		return require(path.join(here, '..', '..', 'kit', 'node', 'chaos-task'));
	}
}

/* A pool package from this directory's node_modules. */
function pool(name) {
	return require(path.join(here, 'node_modules', name));
}

/*
 * Report one promise per id. skip: in id order, result or error. abort: as
 * they settle; the first rejection prints aborted and calls stop() (the
 * pool's own terminate). A promise that never settles is a hang the adapter
 * does not hide. The caller prints done.
 */
async function report(promises, policy, stop) {
	if (policy !== 'abort') {
		/* Every promise gets its handler now: one that rejects before its
		 * turn must not count as an unhandled rejection, which would end
		 * the adapter, not the pool. */
		const settled = promises.map((p, i) => Promise.resolve(p).then(
			(v) => () => out.result(i, v), (e) => () => out.error(i, e)));
		for (const s of settled)
			(await s)();
		return;
	}
	await new Promise((resolve) => {
		let left = promises.length;
		let aborted = false;

		if (!left)
			resolve();
		promises.forEach((p, i) => p.then((v) => {
			if (!aborted)
				out.result(i, v);
		}, (e) => {
			if (!aborted) {
				aborted = true;
				out.aborted(`task ${i}: ${errText(e)}`);
				Promise.resolve(stop()).then(resolve, resolve);
			}
		}).finally(() => {
			if (--left === 0)
				resolve();
		}));
	});
}

module.exports = { config, out, kit, pool, report, here };
