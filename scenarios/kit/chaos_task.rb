# frozen_string_literal: true

# The task kit, Ruby side: what a Ruby pool under test runs per task.
#
# ChaosTask.run(id) behaves like the C kit's chaos_task_run() and the Python
# kit's chaos_task.run() (docs/protocol.md sections 1 and 2): it reads the task
# spec named by CHAOS_TASKS, reports "start <id>" on the socket named by
# CHAOS_EVENTS, waits at most 30 s for "go <attempt>" (CHAOS_GO_TIMEOUT_MS
# overrides this for tests) and then sleeps, allocates and touches memory, and
# returns the result, raises ChaosTask::TaskError, exits, hangs or kills itself
# as the spec says. Without CHAOS_EVENTS it runs silently as attempt 1; without
# CHAOS_TASKS every task returns id*id at once.
#
# Standard library only, so that it loads in any worker; the controller puts
# this directory on RUBYLIB, so `require "chaos_task"` works in every target.
# The parsed spec is cached per process: a forked worker inherits it.

require "socket"

module ChaosTask
  EXIT_NO_GO = 70
  LINE_MAX = 256
  GO_TIMEOUT_MS = 30_000
  SPEC_LINE_MAX = 1024
  SPEC_TASKS_MAX = 1_000_000
  ACTIONS = %w[ok exit fail hang selfkill segv].freeze
  # Writing every 4096th byte touches every page whatever the page size.
  PAGE = 4096
  DIGITS = /\A[0-9]+\z/.freeze

  # action=fail. task_id names the task for pools that carry only the message
  # of an exception back from a worker. Marshal-able, as Ruby pools need.
  class TaskError < StandardError
    attr_reader :task_id, :text

    def initialize(task_id = nil, text = "task failed")
      super(text)
      @task_id = task_id
      @text = text
    end
  end

  # The task spec file is malformed; the message names file and line.
  class SpecError < StandardError; end

  # A bad value inside a task line; becomes a SpecError with file and line.
  class LineError < StandardError; end
  private_constant :LineError

  UINT_MAX = { "sleep" => 2**32 - 1, "alloc" => 2**64 - 1, "code" => 255,
               "times" => 2**32 - 1 }.freeze
  private_constant :UINT_MAX

  module_function

  def defaults(id)
    { sleep: 0, alloc: 0, action: "ok", code: 0, times: 1, result: id * id }
  end

  def value_for(key, val)
    if UINT_MAX.key?(key)
      raise ArgumentError unless DIGITS.match?(val) && val.to_i <= UINT_MAX[key]

      return val.to_i
    end
    if key == "action"
      raise ArgumentError unless ACTIONS.include?(val)

      return val
    end
    raise ArgumentError unless /\A[+-]?[0-9]+\z/.match?(val)

    v = val.to_i
    raise ArgumentError unless v >= -2**63 && v < 2**63

    v
  end

  def parse_task_line(line, expect_id)
    toks = line.split
    raise LineError, "expected a task id at the start of the line" unless toks[0]&.match?(DIGITS)
    if toks[0].to_i != expect_id
      raise LineError, "task id #{toks[0]} out of order (expected #{expect_id})"
    end

    d = defaults(expect_id)
    toks.drop(1).each do |tok|
      key, eq, val = tok.partition("=")
      raise LineError, "expected key=value, got '#{tok[0, 64]}'" if eq.empty? || key.empty?
      unless UINT_MAX.key?(key) || %w[action result].include?(key)
        raise LineError, "unknown key '#{key[0, 32]}' (expected sleep, alloc, action, code, " \
                         "times, result)"
      end
      begin
        d[key.to_sym] = value_for(key, val)
      rescue ArgumentError
        raise LineError, "bad value '#{val[0, 64]}' for #{key}"
      end
    end
    d
  end

  def parse_header(path, line)
    parts = line.split
    unless parts.size == 3 && parts[0] == "chaos-tasks" && parts[1].match?(DIGITS) &&
           parts[2].match?(DIGITS)
      raise SpecError, "#{path}:1: expected header 'chaos-tasks 1 <ntasks>'"
    end
    if parts[1] != "1"
      raise SpecError, "#{path}:1: task spec version #{parts[1]} is not supported (expected 1)"
    end

    ntasks = parts[2].to_i
    if ntasks > SPEC_TASKS_MAX
      raise SpecError, "#{path}:1: #{ntasks} tasks is more than the limit #{SPEC_TASKS_MAX}"
    end

    ntasks
  end

  # Parse a task spec file into an array of hashes (:sleep, :alloc, :action,
  # :code, :times, :result); raise SpecError with "path:line: why" for a
  # malformed file, SystemCallError when it cannot be read.
  def parse_spec(path)
    defs = []
    ntasks = nil
    lineno = 0
    File.foreach(path, mode: "rb") do |raw|
      lineno += 1
      if raw.bytesize > SPEC_LINE_MAX
        raise SpecError, "#{path}:#{lineno}: line longer than #{SPEC_LINE_MAX} bytes"
      end

      line = raw.chomp("\n")
      if lineno == 1
        ntasks = parse_header(path, line)
        next
      end
      if defs.size >= ntasks
        raise SpecError, "#{path}:#{lineno}: more task lines than the header's #{ntasks}"
      end

      begin
        defs << parse_task_line(line, defs.size)
      rescue LineError => e
        raise SpecError, "#{path}:#{lineno}: #{e.message}"
      end
    end
    if ntasks.nil?
      raise SpecError, "#{path}:0: empty file (expected header 'chaos-tasks 1 <ntasks>')"
    end
    if defs.size != ntasks
      raise SpecError, "#{path}:#{lineno}: #{defs.size} task lines, header says #{ntasks}"
    end

    defs
  end

  # Keyed by the path, so that a test changing CHAOS_TASKS gets the new file.
  @cache = { path: nil, defs: nil }

  def spec_for(id)
    path = ENV["CHAOS_TASKS"]
    return defaults(id) if path.nil? || path.empty?

    cache = ChaosTask.instance_variable_get(:@cache)
    if cache[:path] != path
      cache[:defs] = parse_spec(path)
      cache[:path] = path
    end
    defs = cache[:defs]
    raise SpecError, "#{path}: task #{id} is not in the spec (#{defs.size} tasks)" if id >= defs.size

    defs[id]
  end

  def go_timeout_s
    v = ENV.fetch("CHAOS_GO_TIMEOUT_MS", "")
    (DIGITS.match?(v) ? v.to_i : GO_TIMEOUT_MS) / 1000.0
  end

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # The attempt from "go <attempt>", or nil on timeout, EOF or a malformed
  # line. Every wait is bounded by what is left of the deadline.
  def wait_go(sock)
    deadline = now + go_timeout_s
    buf = +""
    loop do
      left = deadline - now
      return nil if left <= 0
      next unless sock.wait_readable(left)

      begin
        chunk = sock.read_nonblock(LINE_MAX + 1 - buf.bytesize, exception: false)
      rescue SystemCallError, IOError
        return nil
      end
      next if chunk == :wait_readable
      return nil if chunk.nil?

      buf << chunk
      if (nl = buf.index("\n"))
        m = /\Ago ([0-9]+)\z/.match(buf[0, nl])
        return m && m[1].to_i >= 1 ? m[1].to_i : nil
      end
      return nil if buf.bytesize >= LINE_MAX
    end
  end

  # Allocate nbytes and write one byte per page: the kernel charges only
  # touched pages. Kept until the task returns.
  def touch(nbytes)
    return nil if nbytes <= 0

    buf = "\0".b * nbytes
    0.step(nbytes - 1, PAGE) { |i| buf.setbyte(i, 1) }
    buf.setbyte(nbytes - 1, 1)
    buf
  end

  def exit_now(code)
    $stdout.flush
    $stderr.flush
  rescue StandardError
    nil
  ensure
    # exit! skips at_exit handlers and ensure blocks: the worker ends here.
    Process.exit!(code)
  end

  SIGSEGV = Signal.list.fetch("SEGV")
  SIG_UNBLOCK = 1 # Linux
  private_constant :SIGSEGV, :SIG_UNBLOCK

  # Ruby keeps SIGSEGV for itself: its handler prints a bug report and ends
  # with abort(), i.e. SIGABRT. The task must die by SIGSEGV, so the default
  # action is restored, the signal unblocked and raised through libc
  # (Fiddle is in the standard library).
  def raise_segv
    require "fiddle"
    libc = Fiddle.dlopen(nil)
    fn = ->(name, args, ret) { Fiddle::Function.new(libc[name], args, ret) }
    int = Fiddle::TYPE_INT
    ptr = Fiddle::TYPE_VOIDP
    set = Fiddle::Pointer.malloc(128) # sizeof(sigset_t) on Linux
    fn.call("sigemptyset", [ptr], int).call(set)
    fn.call("sigaddset", [ptr, int], int).call(set, SIGSEGV)
    fn.call("pthread_sigmask", [int, ptr, ptr], int).call(SIG_UNBLOCK, set, nil)
    fn.call("signal", [int, ptr], ptr).call(SIGSEGV, 0) # SIG_DFL
    fn.call("raise", [int], int).call(SIGSEGV)
  end

  def misbehave(d)
    case d[:action]
    when "exit" then exit_now(d[:code])
    when "hang" then loop { sleep 60 } # each sleep bounded; hung until killed
    when "selfkill" then Process.kill(:KILL, Process.pid)
    when "segv" then raise_segv
    end
    exit_now(71)
  end

  # nil, or the error that kept the line from being sent.
  def send_line(sock, line)
    sock.write(line)
    nil
  rescue SystemCallError, IOError => e
    e
  end

  # Run task id as the spec says and return its result (an Integer). Raises
  # TaskError for action=fail, SpecError for a bad spec, SystemCallError when
  # the event socket cannot be used. Does not return for action=exit, hang,
  # selfkill and segv, nor when "go" does not arrive in time (exit 70).
  def run(id)
    id = Integer(id)
    raise ArgumentError, "task id #{id} is negative" if id.negative?

    d = spec_for(id)
    events = ENV["CHAOS_EVENTS"]
    sock = nil
    mem = nil
    begin
      attempt = 1
      if events && !events.empty?
        sock = UNIXSocket.new(events) # close-on-exec by default
        sock.write("start #{id}\n")
        attempt = wait_go(sock)
        if attempt.nil?
          $stderr.write("chaos_task: task #{id}: no 'go' from #{events}\n")
          exit_now(EXIT_NO_GO)
        end
      end
      bad = d[:times].zero? || attempt <= d[:times]
      sleep(d[:sleep] / 1000.0) if d[:sleep].positive?
      mem = touch(d[:alloc]) if bad
      if bad && d[:action] == "fail"
        text = "task #{id} failed on purpose (attempt #{attempt})"
        send_line(sock, "fail #{id} #{text}\n") if sock
        raise TaskError.new(id, text)
      end
      misbehave(d) if bad && d[:action] != "ok"
      if sock && (err = send_line(sock, "end #{id} #{d[:result]}\n"))
        # The result is real even if the controller missed it.
        $stderr.write("chaos_task: task #{id}: send end: #{err.message}\n")
      end
      d[:result]
    ensure
      mem&.clear
      sock&.close
    end
  end

  # run, returning [id, result]: for pools that do not say which task a
  # result belongs to.
  def run_tagged(id)
    [Integer(id), run(id)]
  end
end
