'use strict';
/*
 * Tests of the Node.js task kit with node's own test runner (`node --test`):
 * spec parsing, silent mode, and the event-socket protocol against a small
 * controller in this process. What ends a process (exit, selfkill, segv,
 * hang, no 'go', memory really touched) is tested for every kit by
 * tests/kit/test_kit.py, with the same assertions as for the Python kit.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { test, after } = require('node:test');

const kit = require('..');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'test_kit_node.'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let nspec = 0;
function writeSpec(text) {
	const p = path.join(tmp, `tasks${nspec++}`);
	fs.writeFileSync(p, text);
	return p;
}

test('parse valid', () => {
	const d = kit.parseSpec(writeSpec('chaos-tasks 1 3\n0 sleep=5 alloc=10 action=exit code=3 ' +
					  'times=0 result=-7\n1 action=selfkill\n2\n'));
	assert.equal(d.length, 3);
	assert.deepEqual(d[0], { sleep: 5, alloc: 10, action: 'exit', code: 3, times: 0,
				 result: -7n });
	assert.equal(d[1].action, 'selfkill');
	assert.equal(d[1].times, 1);
	assert.equal(d[2].result, 4n);
	const big = kit.parseSpec(writeSpec('chaos-tasks 1 1\n0 result=9223372036854775807\n'));
	assert.equal(big[0].result, 9223372036854775807n);
});

const BAD = [
	['', '0', 'empty file'],
	['tasks 1 2\n', '1', 'expected header'],
	['chaos-tasks 2 1\n0\n', '1', 'version 2'],
	['chaos-tasks 1 2\n0\n', '2', '1 task lines, header says 2'],
	['chaos-tasks 1 1\n0\n1\n', '3', 'more task lines'],
	['chaos-tasks 1 2\n0\n2\n', '3', 'out of order'],
	['chaos-tasks 1 1\n0 colour=red\n', '2', "unknown key 'colour'"],
	['chaos-tasks 1 1\n0 action=explode\n', '2', "bad value 'explode' for action"],
	['chaos-tasks 1 1\n0 sleep=-1\n', '2', "bad value '-1' for sleep"],
	['chaos-tasks 1 1\n0 result=12x\n', '2', "bad value '12x' for result"],
	['chaos-tasks 1 1\n0 result=9223372036854775808\n', '2', 'for result'],
	['chaos-tasks 1 1\n0 code=256\n', '2', "bad value '256' for code"],
	['chaos-tasks 1 1\nx\n', '2', 'expected a task id'],
	['chaos-tasks 1 1\n0 sleep\n', '2', "expected key=value, got 'sleep'"],
	[`chaos-tasks 1 1\n0 ${'x'.repeat(1100)}\n`, '2', 'longer than 1024'],
];

for (const [text, line, needle] of BAD) {
	test(`parse bad: ${needle}`, () => {
		const p = writeSpec(text);
		assert.throws(() => kit.parseSpec(p), (e) => {
			assert.ok(e instanceof kit.SpecError, e);
			assert.ok(e.message.startsWith(`${p}:${line}: `), e.message);
			assert.ok(e.message.includes(needle), e.message);
			return true;
		});
	});
}

function silentEnv(spec) {
	delete process.env.CHAOS_EVENTS;
	if (spec === null)
		delete process.env.CHAOS_TASKS;
	else
		process.env.CHAOS_TASKS = writeSpec(spec);
}

test('silent mode', async () => {
	silentEnv(null);
	const got = [];
	for (let i = 0; i < 6; i++)
		got.push(await kit.run(i));
	assert.deepEqual(got, [0, 1, 4, 9, 16, 25]);

	silentEnv('chaos-tasks 1 4\n0 result=-5\n1 sleep=100 alloc=1048576 result=77\n' +
		  '2 action=fail\n3 result=9007199254740993\n');
	const t0 = Date.now();
	assert.equal(await kit.run(0), -5);
	assert.equal(await kit.run('1'), 77);
	assert.ok(Date.now() - t0 >= 100);
	/* Beyond what a JS number holds exactly: the decimal string. */
	assert.equal(await kit.run(3), '9007199254740993');
	assert.deepEqual(await kit.runTagged(0), [0, -5]);
	await assert.rejects(kit.run(2), (e) => {
		assert.ok(e instanceof kit.TaskError);
		assert.equal(e.taskId, 2);
		assert.match(e.message, /failed on purpose \(attempt 1\)/);
		return true;
	});
	await assert.rejects(kit.run(4), kit.SpecError);
	await assert.rejects(kit.run(-1), TypeError);
	delete process.env.CHAOS_TASKS;
});

/* A controller that answers the first line of each connection with
 * go <attempt> and records every line. */
function controller(attempt) {
	const sockPath = path.join(tmp, `ev${nspec++}.sock`);
	const lines = [];
	const server = net.createServer((conn) => {
		let buf = '';
		conn.on('data', (chunk) => {
			buf += chunk.toString();
			let nl;
			while ((nl = buf.indexOf('\n')) >= 0) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + 1);
				lines.push(line);
				if (line.startsWith('start '))
					conn.write(`go ${attempt}\n`);
			}
		});
		conn.on('error', () => {});
	});
	return new Promise((resolve) => server.listen(sockPath, () =>
		resolve({ path: sockPath, lines, close: (cb) => server.close(cb) })));
}

test('protocol start/go/end and the times rule', async () => {
	const spec = 'chaos-tasks 1 4\n0 action=fail times=2 result=3\n1 action=fail times=0\n2\n' +
		     '3 sleep=20 result=9\n';
	const cases = [
		[3, 2, ['start 3', 'end 3 9'], 9],
		[0, 2, ['start 0', 'fail 0 task 0 failed on purpose (attempt 2)'], null],
		[0, 3, ['start 0', 'end 0 3'], 3],
		[1, 50, ['start 1', 'fail 1 task 1 failed on purpose (attempt 50)'], null],
	];
	for (const [id, attempt, want, result] of cases) {
		const ctl = await controller(attempt);
		process.env.CHAOS_EVENTS = ctl.path;
		process.env.CHAOS_TASKS = writeSpec(spec);
		if (result === null)
			await assert.rejects(kit.run(id), kit.TaskError);
		else
			assert.equal(await kit.run(id), result);
		/* The kit has closed its connection: the server's close completes
		 * after that connection's last data (bounded by --test-timeout). */
		await new Promise((resolve) => ctl.close(resolve));
		assert.deepEqual(ctl.lines, want, `task ${id} attempt ${attempt}`);
	}
	delete process.env.CHAOS_EVENTS;
	delete process.env.CHAOS_TASKS;
});

test('an unreachable event socket rejects', async () => {
	process.env.CHAOS_EVENTS = path.join(tmp, 'nobody.sock');
	delete process.env.CHAOS_TASKS;
	await assert.rejects(kit.run(0), /ENOENT/);
	delete process.env.CHAOS_EVENTS;
});
