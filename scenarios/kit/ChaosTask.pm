package ChaosTask;

# The task kit, Perl side: what a Perl pool under test runs per task.
#
# ChaosTask::run($id) behaves like the C kit's chaos_task_run() and the Python
# kit's chaos_task.run() (docs/protocol.md sections 1 and 2): it reads the task
# spec named by CHAOS_TASKS, reports "start <id>" on the socket named by
# CHAOS_EVENTS, waits at most 30 s for "go <attempt>" (CHAOS_GO_TIMEOUT_MS
# overrides this for tests) and then sleeps, allocates and touches memory, and
# returns the result, dies with a ChaosTask::TaskError object, exits, hangs or
# kills itself as the spec says. Without CHAOS_EVENTS it runs silently as
# attempt 1; without CHAOS_TASKS every task returns id*id at once.
#
# Core modules only, so that it loads in any worker; the controller puts this
# directory on PERL5LIB, so `use ChaosTask;` works in every target. The parsed
# spec is cached per process: a forked worker inherits it. Results are signed
# 64-bit integers (a 64-bit perl holds them exactly).

use strict;
use warnings;

use Errno qw(EINTR);
use IO::Select;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

our $VERSION = '1.00';

use constant {
	EXIT_NO_GO    => 70,
	LINE_MAX      => 256,
	GO_TIMEOUT_MS => 30000,
	SPEC_LINE_MAX => 1024,
	SPEC_TASKS_MAX => 1000000,
	# Writing every 4096th byte touches every page whatever the page size.
	PAGE => 4096,
};

my %ACTIONS = map { $_ => 1 } qw(ok exit fail hang selfkill segv);
# Largest values as decimal strings: compared by length, then as strings, so
# that no value is ever converted to a float.
my %UINT_MAX = (sleep => '4294967295', alloc => '18446744073709551615', code => '255',
		times => '4294967295');

package ChaosTask::TaskError {
	# action=fail; task_id names the task for pools that carry only the
	# message of an error back from a worker.
	use overload '""' => sub { $_[0]{text} }, fallback => 1;
	sub new { my ($class, %a) = @_; return bless {%a}, $class }
	sub task_id { $_[0]{task_id} }
	sub text { $_[0]{text} }
}

package ChaosTask::SpecError {
	# The task spec file is malformed; the message names file and line.
	use overload '""' => sub { $_[0]{text} }, fallback => 1;
	sub new { my ($class, $text) = @_; return bless {text => $text}, $class }
	sub text { $_[0]{text} }
}

package ChaosTask;

sub _spec_error { die ChaosTask::SpecError->new($_[0]) }

sub _defaults {
	my ($id) = @_;
	return {sleep => 0, alloc => 0, action => 'ok', code => 0, times => 1,
		result => $id * $id};
}

# Is the decimal string $v (no sign) at most the decimal string $max?
sub _le {
	my ($v, $max) = @_;
	$v =~ s/^0+(?=.)//;
	return length($v) < length($max) || (length($v) == length($max) && $v le $max);
}

# The value of key=val, or undef when val is bad for key.
sub _value {
	my ($key, $val) = @_;
	if (exists $UINT_MAX{$key}) {
		return undef unless $val =~ /\A[0-9]+\z/ && _le($val, $UINT_MAX{$key});
		return $val + 0;
	}
	return $ACTIONS{$val} ? $val : undef if $key eq 'action';
	return undef unless $val =~ /\A([+-]?)([0-9]+)\z/;
	my ($sign, $digits) = ($1, $2);
	return undef unless _le($digits, $sign eq '-' ? '9223372036854775808'
							: '9223372036854775807');
	return $val + 0;
}

# One task line: the hash, or dies with the reason as a plain string.
sub _parse_task_line {
	my ($line, $expect) = @_;
	my @toks = split ' ', $line;
	die "expected a task id at the start of the line\n"
	    unless @toks && $toks[0] =~ /\A[0-9]+\z/;
	die "task id $toks[0] out of order (expected $expect)\n" if $toks[0] != $expect;
	my $d = _defaults($expect);
	for my $tok (@toks[1 .. $#toks]) {
		my ($key, $val) = $tok =~ /\A([^=]*)=(.*)\z/s;
		die sprintf("expected key=value, got '%s'\n", substr($tok, 0, 64))
		    unless defined $key && length $key;
		die sprintf("unknown key '%s' (expected sleep, alloc, action, code, times, "
			    . "result)\n", substr($key, 0, 32))
		    unless exists $UINT_MAX{$key} || $key eq 'action' || $key eq 'result';
		my $v = _value($key, $val);
		die sprintf("bad value '%s' for %s\n", substr($val, 0, 64), $key) unless defined $v;
		$d->{$key} = $v;
	}
	return $d;
}

sub _parse_header {
	my ($path, $line) = @_;
	my @p = split ' ', $line;
	_spec_error("$path:1: expected header 'chaos-tasks 1 <ntasks>'")
	    unless @p == 3 && $p[0] eq 'chaos-tasks' && $p[1] =~ /\A[0-9]+\z/
	    && $p[2] =~ /\A[0-9]+\z/;
	_spec_error("$path:1: task spec version $p[1] is not supported (expected 1)")
	    if $p[1] ne '1';
	_spec_error("$path:1: $p[2] tasks is more than the limit " . SPEC_TASKS_MAX)
	    unless _le($p[2], SPEC_TASKS_MAX);
	return $p[2] + 0;
}

# Parse a task spec file into an array ref of hash refs (sleep, alloc, action,
# code, times, result); dies with a ChaosTask::SpecError "path:line: why" for a
# malformed file, with a plain message when it cannot be read.
sub parse_spec {
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "$path: $!\n";
	my (@defs, $ntasks);
	my $lineno = 0;
	while (my $raw = <$fh>) {
		$lineno++;
		_spec_error("$path:$lineno: line longer than " . SPEC_LINE_MAX . " bytes")
		    if length($raw) > SPEC_LINE_MAX;
		(my $line = $raw) =~ s/\n\z//;
		if ($lineno == 1) {
			$ntasks = _parse_header($path, $line);
			next;
		}
		_spec_error("$path:$lineno: more task lines than the header's $ntasks")
		    if @defs >= $ntasks;
		my $d = eval { _parse_task_line($line, scalar @defs) };
		if (!$d) {
			chomp(my $why = $@);
			_spec_error("$path:$lineno: $why");
		}
		push @defs, $d;
	}
	close($fh);
	_spec_error("$path:0: empty file (expected header 'chaos-tasks 1 <ntasks>')")
	    unless defined $ntasks;
	_spec_error(sprintf("%s:%d: %d task lines, header says %d", $path, $lineno,
			    scalar @defs, $ntasks)) if @defs != $ntasks;
	return \@defs;
}

# Keyed by the path, so that a test changing CHAOS_TASKS gets the new file.
my %cache = (path => undef, defs => undef);

sub _spec_for {
	my ($id) = @_;
	my $path = $ENV{CHAOS_TASKS};
	return _defaults($id) unless defined $path && length $path;
	if (!defined $cache{path} || $cache{path} ne $path) {
		$cache{defs} = parse_spec($path);
		$cache{path} = $path;
	}
	my $n = scalar @{$cache{defs}};
	_spec_error("$path: task $id is not in the spec ($n tasks)") if $id >= $n;
	return $cache{defs}[$id];
}

sub _go_timeout_s {
	my $v = $ENV{CHAOS_GO_TIMEOUT_MS} // '';
	return ($v =~ /\A[0-9]+\z/ ? $v : GO_TIMEOUT_MS) / 1000;
}

sub _now { Time::HiRes::clock_gettime(Time::HiRes::CLOCK_MONOTONIC()) }

# The attempt from "go <attempt>", or undef on timeout, EOF or a malformed
# line. Every wait is bounded by what is left of the deadline.
sub _wait_go {
	my ($sock) = @_;
	my $deadline = _now() + _go_timeout_s();
	my $sel = IO::Select->new($sock);
	my $buf = '';
	for (;;) {
		my $left = $deadline - _now();
		return undef if $left <= 0;
		next unless $sel->can_read($left);
		my $r = sysread($sock, $buf, LINE_MAX + 1 - length($buf), length($buf));
		if (!defined $r) {
			next if $! == EINTR;
			return undef;
		}
		return undef if $r == 0;
		my $nl = index($buf, "\n");
		if ($nl >= 0) {
			my $line = substr($buf, 0, $nl);
			return $line =~ /\Ago ([0-9]+)\z/ && $1 >= 1 ? $1 + 0 : undef;
		}
		return undef if length($buf) >= LINE_MAX;
	}
}

# Allocate nbytes and write one byte per page: the kernel charges only touched
# pages. Kept until the task returns.
sub _touch {
	my ($n) = @_;
	return undef if $n <= 0;
	my $buf = "\0" x $n;
	for (my $i = 0; $i < $n; $i += PAGE) {
		substr($buf, $i, 1, "\1");
	}
	substr($buf, $n - 1, 1, "\1");
	return \$buf;
}

sub _exit_now {
	my ($code) = @_;
	# POSIX::_exit skips END blocks and destructors: the worker ends here.
	local $| = 1;
	STDOUT->flush;
	STDERR->flush;
	POSIX::_exit($code);
}

sub _misbehave {
	my ($d) = @_;
	my $a = $d->{action};
	_exit_now($d->{code}) if $a eq 'exit';
	if ($a eq 'hang') {
		sleep 60 while 1; # each sleep bounded; hung until killed
	}
	kill 'KILL', $$ if $a eq 'selfkill';
	if ($a eq 'segv') {
		# The pool may have a handler or a mask for SIGSEGV; the task must
		# die by the signal all the same.
		$SIG{SEGV} = 'DEFAULT';
		POSIX::sigprocmask(POSIX::SIG_UNBLOCK(), POSIX::SigSet->new(POSIX::SIGSEGV()));
		kill 'SEGV', $$;
	}
	_exit_now(71);
}

sub _send {
	my ($sock, $line) = @_;
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $line) {
		my $w = syswrite($sock, $line, length($line) - $off, $off);
		if (!defined $w) {
			next if $! == EINTR;
			return "$!";
		}
		$off += $w;
	}
	return undef;
}

# Run task $id as the spec says and return its result. Dies with a
# ChaosTask::TaskError for action=fail, a ChaosTask::SpecError for a bad spec,
# a message when the event socket cannot be used. Does not return for
# action=exit, hang, selfkill and segv, nor when "go" does not arrive in time
# (exit 70).
sub run {
	my ($id) = @_;
	die "task id '" . ($id // 'undef') . "' is not an integer >= 0\n"
	    unless defined $id && $id =~ /\A[0-9]+\z/;
	$id += 0;
	my $d = _spec_for($id);
	my $events = $ENV{CHAOS_EVENTS};
	my ($sock, $mem);
	my $attempt = 1;
	if (defined $events && length $events) {
		$sock = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $events)
		    or die "chaos_task: connect $events: $!\n";
		my $err = _send($sock, "start $id\n");
		die "chaos_task: send start: $err\n" if defined $err;
		$attempt = _wait_go($sock);
		if (!defined $attempt) {
			print STDERR "chaos_task: task $id: no 'go' from $events\n";
			_exit_now(EXIT_NO_GO);
		}
	}
	my $bad = $d->{times} == 0 || $attempt <= $d->{times};
	Time::HiRes::sleep($d->{sleep} / 1000) if $d->{sleep};
	$mem = _touch($d->{alloc}) if $bad;
	if ($bad && $d->{action} eq 'fail') {
		my $text = "task $id failed on purpose (attempt $attempt)";
		_send($sock, "fail $id $text\n") if $sock;
		close($sock) if $sock;
		die ChaosTask::TaskError->new(task_id => $id, text => $text);
	}
	_misbehave($d) if $bad && $d->{action} ne 'ok';
	if ($sock) {
		# The result is real even if the controller missed it.
		my $err = _send($sock, "end $id $d->{result}\n");
		print STDERR "chaos_task: task $id: send end: $err\n" if defined $err;
		close($sock);
	}
	return $d->{result};
}

# run, returning ($id, $result): for pools that do not say which task a
# result belongs to.
sub run_tagged {
	my ($id) = @_;
	my $r = run($id);
	return ($id + 0, $r);
}

1;
