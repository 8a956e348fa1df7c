#!/usr/bin/perl
# Tests of the Perl task kit with Test::More (prove): spec parsing, silent
# mode, and the event-socket protocol against a small controller in a forked
# child. What ends a process (exit, selfkill, segv, hang, no "go", memory
# really touched) is tested for every kit by tests/kit/test_kit.py, with the
# same assertions as for the Python kit.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM SOMAXCONN);
use Test::More;
use Time::HiRes ();

use lib File::Spec->catdir(dirname(File::Spec->rel2abs(__FILE__)), '..', '..', 'scenarios', 'kit');
use ChaosTask;

my $dir = tempdir('test_kit_pl.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;
delete @ENV{qw(CHAOS_EVENTS CHAOS_TASKS)};

sub write_spec {
	my ($text) = @_;
	my $path = "$dir/tasks" . $n++;
	open(my $fh, '>:raw', $path) or die "$path: $!";
	print $fh $text;
	close($fh) or die "$path: $!";
	return $path;
}

my $d = ChaosTask::parse_spec(write_spec("chaos-tasks 1 3\n0 sleep=5 alloc=10 action=exit "
					 . "code=3 times=0 result=-7\n1 action=selfkill\n2\n"));
is(scalar @$d, 3, 'parse valid: three tasks');
is_deeply($d->[0], {sleep => 5, alloc => 10, action => 'exit', code => 3, times => 0,
		    result => -7}, 'parse valid: every key');
is($d->[1]{action}, 'selfkill', 'parse valid: action');
is($d->[1]{times}, 1, 'parse valid: default times');
is($d->[2]{result}, 4, 'parse valid: default result id*id');
is(ChaosTask::parse_spec(write_spec("chaos-tasks 1 1\n0 result=-9223372036854775808\n"))
       ->[0]{result}, '-9223372036854775808', 'parse valid: 64-bit result exact');

my @bad = (
	['', '0', 'empty file'],
	["tasks 1 2\n", '1', 'expected header'],
	["chaos-tasks 2 1\n0\n", '1', 'version 2'],
	["chaos-tasks 1 2\n0\n", '2', '1 task lines, header says 2'],
	["chaos-tasks 1 1\n0\n1\n", '3', 'more task lines'],
	["chaos-tasks 1 2\n0\n2\n", '3', 'out of order'],
	["chaos-tasks 1 1\n0 colour=red\n", '2', "unknown key 'colour'"],
	["chaos-tasks 1 1\n0 action=explode\n", '2', "bad value 'explode' for action"],
	["chaos-tasks 1 1\n0 sleep=-1\n", '2', "bad value '-1' for sleep"],
	["chaos-tasks 1 1\n0 result=12x\n", '2', "bad value '12x' for result"],
	["chaos-tasks 1 1\n0 result=9223372036854775808\n", '2', 'for result'],
	["chaos-tasks 1 1\n0 code=256\n", '2', "bad value '256' for code"],
	["chaos-tasks 1 1\nx\n", '2', 'expected a task id'],
	["chaos-tasks 1 1\n0 sleep\n", '2', "expected key=value, got 'sleep'"],
	["chaos-tasks 1 1\n0 " . ('x' x 1100) . "\n", '2', 'longer than 1024'],
);
for my $b (@bad) {
	my ($text, $line, $needle) = @$b;
	my $path = write_spec($text);
	eval { ChaosTask::parse_spec($path) };
	my $e = $@;
	ok(ref $e && $e->isa('ChaosTask::SpecError') && index("$e", "$path:$line: ") == 0
	   && index("$e", $needle) >= 0, "parse bad: $needle") or diag("got: $e");
}

# Silent mode.
is_deeply([map { ChaosTask::run($_) } 0 .. 5], [0, 1, 4, 9, 16, 25], 'silent defaults id*id');
$ENV{CHAOS_TASKS} = write_spec("chaos-tasks 1 3\n0 result=-5\n1 sleep=100 alloc=1048576 "
			       . "result=77\n2 action=fail\n");
my $t0 = Time::HiRes::time();
is(ChaosTask::run(0), -5, 'silent spec result');
is(ChaosTask::run('1'), 77, 'silent spec result after sleep and alloc');
cmp_ok(Time::HiRes::time() - $t0, '>=', 0.1, 'silent sleep slept');
is_deeply([ChaosTask::run_tagged(0)], [0, -5], 'run_tagged');
eval { ChaosTask::run(2) };
my $e = $@;
ok(ref $e && $e->isa('ChaosTask::TaskError') && $e->task_id == 2
   && "$e" =~ /failed on purpose \(attempt 1\)/, 'silent fail dies with TaskError');
eval { ChaosTask::run(3) };
ok(ref $@ && $@->isa('ChaosTask::SpecError'), 'silent id out of range');
eval { ChaosTask::run(-1) };
like($@, qr/not an integer/, 'negative id');

# A controller in a forked child: answers start with go <attempt>, writes the
# lines it read to a file when the kit closes the connection.
sub controller {
	my ($attempt) = @_;
	my $path = "$dir/ev" . $n++ . '.sock';
	my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => SOMAXCONN)
	    or die "listen $path: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		alarm 20; # the child is bounded even if the kit never connects
		my $conn = $srv->accept or POSIX::_exit(1);
		my @lines;
		while (my $line = <$conn>) {
			chomp $line;
			push @lines, $line;
			syswrite($conn, "go $attempt\n") if $line =~ /^start /;
		}
		open(my $fh, '>', "$path.lines") or POSIX::_exit(1);
		print $fh map { "$_\n" } @lines;
		close($fh);
		POSIX::_exit(0);
	}
	close($srv);
	return ($path, $pid);
}

sub lines_of {
	my ($path, $pid) = @_;
	my $deadline = Time::HiRes::time() + 10;
	my $got = 0;
	while (Time::HiRes::time() < $deadline) {
		$got = waitpid($pid, POSIX::WNOHANG());
		last if $got == $pid;
		Time::HiRes::sleep(0.01);
	}
	if ($got != $pid) {
		kill 'KILL', $pid;
		waitpid($pid, 0);
		return ['controller did not end'];
	}
	open(my $fh, '<', "$path.lines") or return ["no lines: $!"];
	chomp(my @l = <$fh>);
	return \@l;
}

my $spec = "chaos-tasks 1 4\n0 action=fail times=2 result=3\n1 action=fail times=0\n2\n"
    . "3 sleep=20 result=9\n";
for my $c ([3, 2, ['start 3', 'end 3 9'], 9],
	   [0, 2, ['start 0', 'fail 0 task 0 failed on purpose (attempt 2)'], undef],
	   [0, 3, ['start 0', 'end 0 3'], 3],
	   [1, 50, ['start 1', 'fail 1 task 1 failed on purpose (attempt 50)'], undef]) {
	my ($id, $attempt, $want, $result) = @$c;
	my ($path, $pid) = controller($attempt);
	$ENV{CHAOS_EVENTS} = $path;
	$ENV{CHAOS_TASKS} = write_spec($spec);
	my $r = eval { ChaosTask::run($id) };
	if (defined $result) {
		is($r, $result, "protocol task $id attempt $attempt: result");
	} else {
		ok(ref $@ && $@->isa('ChaosTask::TaskError'), "protocol task $id attempt $attempt: fails");
	}
	is_deeply(lines_of($path, $pid), $want, "protocol task $id attempt $attempt: lines");
}

$ENV{CHAOS_EVENTS} = "$dir/nobody.sock";
eval { ChaosTask::run(0) };
like($@, qr/connect/, 'an unreachable event socket dies');

done_testing();
