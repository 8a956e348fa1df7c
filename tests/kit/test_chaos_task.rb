# frozen_string_literal: true

# Tests of the Ruby task kit with minitest: spec parsing, silent mode, and the
# event-socket protocol against a small controller thread. What ends a process
# (exit, selfkill, segv, hang, no "go", memory really touched) is tested for
# every kit by tests/kit/test_kit.py, with the same assertions as for Python.
$LOAD_PATH.unshift(File.expand_path("../../scenarios/kit", __dir__))
require "chaos_task"
require "minitest/autorun"
require "socket"
require "fileutils"
require "tmpdir"

class TestChaosTask < Minitest::Test
  BAD = [
    ["", "0", "empty file"],
    ["tasks 1 2\n", "1", "expected header"],
    ["chaos-tasks 2 1\n0\n", "1", "version 2"],
    ["chaos-tasks 1 2\n0\n", "2", "1 task lines, header says 2"],
    ["chaos-tasks 1 1\n0\n1\n", "3", "more task lines"],
    ["chaos-tasks 1 2\n0\n2\n", "3", "out of order"],
    ["chaos-tasks 1 1\n0 colour=red\n", "2", "unknown key 'colour'"],
    ["chaos-tasks 1 1\n0 action=explode\n", "2", "bad value 'explode' for action"],
    ["chaos-tasks 1 1\n0 sleep=-1\n", "2", "bad value '-1' for sleep"],
    ["chaos-tasks 1 1\n0 result=12x\n", "2", "bad value '12x' for result"],
    ["chaos-tasks 1 1\n0 result=9223372036854775808\n", "2", "for result"],
    ["chaos-tasks 1 1\n0 code=256\n", "2", "bad value '256' for code"],
    ["chaos-tasks 1 1\nx\n", "2", "expected a task id"],
    ["chaos-tasks 1 1\n0 sleep\n", "2", "expected key=value, got 'sleep'"],
    ["chaos-tasks 1 1\n0 #{"x" * 1100}\n", "2", "longer than 1024"],
  ].freeze

  def setup
    @dir = Dir.mktmpdir("test_kit_rb.")
    @n = 0
    ENV.delete("CHAOS_EVENTS")
    ENV.delete("CHAOS_TASKS")
  end

  def teardown
    ENV.delete("CHAOS_EVENTS")
    ENV.delete("CHAOS_TASKS")
    FileUtils.remove_entry(@dir)
  end

  def write_spec(text)
    @n += 1
    path = File.join(@dir, "tasks#{@n}")
    File.binwrite(path, text)
    path
  end

  def test_parse_valid
    d = ChaosTask.parse_spec(write_spec("chaos-tasks 1 3\n0 sleep=5 alloc=10 action=exit " \
                                        "code=3 times=0 result=-7\n1 action=selfkill\n2\n"))
    assert_equal 3, d.size
    assert_equal({ sleep: 5, alloc: 10, action: "exit", code: 3, times: 0, result: -7 }, d[0])
    assert_equal "selfkill", d[1][:action]
    assert_equal 1, d[1][:times]
    assert_equal 4, d[2][:result]
  end

  def test_parse_bad
    BAD.each do |text, line, needle|
      path = write_spec(text)
      e = assert_raises(ChaosTask::SpecError, needle) { ChaosTask.parse_spec(path) }
      assert e.message.start_with?("#{path}:#{line}: "), e.message
      assert_includes e.message, needle
    end
  end

  def test_silent
    assert_equal [0, 1, 4, 9, 16, 25], (0..5).map { |i| ChaosTask.run(i) }
    ENV["CHAOS_TASKS"] = write_spec("chaos-tasks 1 3\n0 result=-5\n1 sleep=100 alloc=1048576 " \
                                    "result=77\n2 action=fail\n")
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_equal(-5, ChaosTask.run(0))
    assert_equal 77, ChaosTask.run("1")
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :>=, 0.1
    assert_equal [0, -5], ChaosTask.run_tagged(0)
    e = assert_raises(ChaosTask::TaskError) { ChaosTask.run(2) }
    assert_equal 2, e.task_id
    assert_match(/failed on purpose \(attempt 1\)/, e.message)
    again = Marshal.load(Marshal.dump(e))
    assert_equal [2, e.message], [again.task_id, again.message]
    assert_raises(ChaosTask::SpecError) { ChaosTask.run(3) }
    assert_raises(ArgumentError) { ChaosTask.run(-1) }
  end

  # Answers the first line of one connection with go <attempt>; returns the
  # lines it read once the kit has closed the connection.
  def controller(attempt)
    path = File.join(@dir, "ev#{@n += 1}.sock")
    server = UNIXServer.new(path)
    thread = Thread.new do
      conn = server.accept
      lines = []
      while (line = conn.gets)
        lines << line.chomp
        conn.write("go #{attempt}\n") if line.start_with?("start ")
      end
      conn.close
      lines
    end
    [path, server, thread]
  end

  def test_protocol
    spec = "chaos-tasks 1 4\n0 action=fail times=2 result=3\n1 action=fail times=0\n2\n" \
           "3 sleep=20 result=9\n"
    [
      [3, 2, ["start 3", "end 3 9"], 9],
      [0, 2, ["start 0", "fail 0 task 0 failed on purpose (attempt 2)"], nil],
      [0, 3, ["start 0", "end 0 3"], 3],
      [1, 50, ["start 1", "fail 1 task 1 failed on purpose (attempt 50)"], nil],
    ].each do |id, attempt, want, result|
      path, server, thread = controller(attempt)
      ENV["CHAOS_EVENTS"] = path
      ENV["CHAOS_TASKS"] = write_spec(spec)
      if result.nil?
        assert_raises(ChaosTask::TaskError) { ChaosTask.run(id) }
      else
        assert_equal result, ChaosTask.run(id)
      end
      # The kit closed its connection, so the thread ends; bounded anyway.
      assert thread.join(10), "controller thread did not end"
      assert_equal want, thread.value, "task #{id} attempt #{attempt}"
      server.close
    end
  end

  def test_unreachable_socket
    ENV["CHAOS_EVENTS"] = File.join(@dir, "nobody.sock")
    assert_raises(Errno::ENOENT) { ChaosTask.run(0) }
  end
end
