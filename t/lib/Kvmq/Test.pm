package Kvmq::Test;

# A small harness for kvmq's integration tests, in the spirit of
# nginx-tests' Test::Nginx: one nginx per test in a temporary prefix, a
# config written by the test, HTTP helpers that never hang, and after
# every test a check that the error log holds no alert and that no
# sanitizer reported anything.  See the POD at the end for the API.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(json_decode json_encode err_is reply_is);

our $TOP = abs_path(dirname(__FILE__) . '/../../..');
our $NGINX_BIN = $ENV{KVMQ_NGINX} // '/usr/sbin/nginx';

# Sanitized nginx is slower: every wait scales by $SLOW.
our $SLOW = $ENV{KVMQ_SANITIZE} ? 4 : 1;

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my @LIVE;              # harness objects, for the END block
my %PORTS_USED;        # ports handed out by this process

sub json_encode { return $JSON->encode($_[0]); }
sub json_decode { return $JSON->decode($_[0]); }

# An error answer: the status, {"error": CODE} and, when $msg is given,
# the message (a string, or a regexp to match).
sub err_is {
    my ($res, $status, $code, $msg, $name) = @_;
    Test::More::is($res->status, $status, "$name: status $status");
    my $j = eval { json_decode($res->body) } // {};
    Test::More::is($j->{error}, $code, "$name: error $code");
    if (ref $msg eq 'Regexp') {
        Test::More::like($j->{message}, $msg, "$name: message");
    } elsif (defined $msg) {
        Test::More::is($j->{message}, $msg, "$name: message");
    }
}

# A JSON answer: the status and the exact body.
sub reply_is {
    my ($res, $status, $body, $name) = @_;
    Test::More::is($res->status, $status, "$name: status $status");
    Test::More::is($res->body, $body, "$name: body");
    Test::More::is($res->header('Content-Type'), 'application/json',
                   "$name: JSON content type");
}


###########################################################################
# construction and configuration

sub new {
    my ($class, %opt) = @_;

    my $dir = tempdir('kvmq-test-XXXXXXXX', TMPDIR => 1, CLEANUP => 0);

    # root runs the workers as nobody: they must reach the prefix
    chmod 0755, $dir;
    mkdir "$dir/san";
    chmod 0777, "$dir/san";

    my $self = bless {
        prefix   => $dir,
        ports    => {},
        api      => $opt{api} // '/kvmq',
        timeout  => ($opt{timeout} // 10) * $SLOW,
        creator  => $$,
        allow    => [],
        done     => 0,
        planned  => 0,
        running  => 0,
        problems => [],
        conf_n   => 0,
        children => [],
    }, $class;

    $self->conf($opt{conf}) if defined $opt{conf};

    push @LIVE, $self;

    # a watchdog: a test that hangs anyway ends, and END cleans up
    if (!$SIG{ALRM} || $SIG{ALRM} eq 'DEFAULT') {
        $SIG{ALRM} = sub { die "kvmq test: watchdog timeout\n" };
        alarm(($ENV{KVMQ_TEST_TIMEOUT} // 600) * $SLOW);
    }

    return $self;
}

sub prefix { return $_[0]{prefix}; }
sub api { return $_[0]{api}; }

sub module {
    my $m = $ENV{KVMQ_MODULE} // "$TOP/build/ngx_http_kvmq_module.so";
    return File::Spec->rel2abs($m);
}

sub has_module { return -f module(); }

sub skip_unless_module {
    my ($self) = @_;
    return $self if has_module();
    Test::More::plan(skip_all => 'module not built: ' . module());
    exit 0;
}

sub conf {
    my ($self, $template) = @_;
    $self->{template} = $template;
    return $self;
}

# N = 0 is %%PORT%%
sub port {
    my ($self, $n) = @_;
    $n //= 0;
    $self->{ports}{$n} //= free_port();
    return $self->{ports}{$n};
}

sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
            Listen => 1,
        ) or die "kvmq test: cannot bind a port: $!\n";
        my $p = $s->sockport;
        close $s;
        next if $PORTS_USED{$p}++;
        return $p;
    }
    die "kvmq test: no free port\n";
}

sub url {
    my ($self, $path, $scheme) = @_;
    $scheme //= 'http';
    return "$scheme://127.0.0.1:" . $self->port(0) . $path;
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = "$self->{prefix}/$name";
    make_path(dirname($path));
    open my $fh, '>:raw', $path or die "kvmq test: $path: $!\n";
    print $fh $content;
    close $fh or die "kvmq test: $path: $!\n";
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{prefix}/$name";
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}

# Expand a template: placeholders, then the test globals (pid, logs, temp
# paths, user) unless the template places them itself, then `events {}`
# when missing.
sub expand {
    my ($self, $template, %opt) = @_;
    my $p = $self->{prefix};
    my $s = $template;

    $s =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $s =~ s/%%PORT%%/$self->port(0)/ge;
    $s =~ s/%%MODULE%%/module()/ge;
    $s =~ s/%%PREFIX%%/$p/g;

    my $errlog = $opt{error_log} // "$p/error.log";
    my $level = $ENV{KVMQ_TEST_LOG_LEVEL} // 'info';
    my $g = "pid $p/nginx.pid;\n"
          . "error_log $errlog $level;\n"
          . "lock_file $p/nginx.lock;\n";

    if ($> == 0 && $s !~ /^\s*user\s/m) {
        $g .= "user nobody nogroup;\n";
    }

    my $gh = "access_log $p/access.log;\n"
           . "client_body_temp_path $p/client_body_temp;\n"
           . "proxy_temp_path $p/proxy_temp;\n"
           . "fastcgi_temp_path $p/fastcgi_temp;\n"
           . "uwsgi_temp_path $p/uwsgi_temp;\n"
           . "scgi_temp_path $p/scgi_temp;\n";

    unless ($s =~ s/%%TEST_GLOBALS%%/$g/) {
        $s = "$g\n$s";
    }

    unless ($s =~ s/%%TEST_GLOBALS_HTTP%%/$gh/) {
        $s =~ s/^(\s*http\s*\{)/$1\n$gh/m;
    }

    $s .= "\nevents { }\n" unless $s =~ /^\s*events\s*\{/m;

    return $s;
}

sub _env_for_nginx {
    my ($self) = @_;
    my %env = (%ENV);

    # $NGINX holds inherited sockets for nginx (binary upgrade)
    delete $env{NGINX};

    if ($ENV{KVMQ_SANITIZE}) {
        my $san = "$self->{prefix}/san";
        $env{LD_PRELOAD} = $ENV{KVMQ_PRELOAD} if $ENV{KVMQ_PRELOAD};
        $env{ASAN_OPTIONS} = join ':', 'detect_leaks=0', 'halt_on_error=1',
            'abort_on_error=1', 'disable_coredump=1',
            "log_path=$san/asan", $ENV{KVMQ_ASAN_EXTRA} // ();
        $env{UBSAN_OPTIONS} = join ':', 'halt_on_error=1',
            'abort_on_error=1', 'print_stacktrace=1',
            "log_path=$san/ubsan";
    }

    return \%env;
}

# Run a command with a deadline; output (stdout + stderr) to $out.
# Returns the exit status ($?), or undef when it had to be killed.
sub _spawn_wait {
    my ($self, $cmd, $out, $timeout) = @_;
    my $env = $self->_env_for_nginx;

    my $pid = fork();
    die "kvmq test: fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        %ENV = %$env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec @$cmd or POSIX::_exit(127);
    }

    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        sleep 0.02;
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);
    return undef;
}


###########################################################################
# nginx -t

# ($exit_status, $output): `nginx -t` on an expanded template.  The exit
# status is the process's (0 = config ok); undef means it timed out.
sub test_config {
    my ($self, $template) = @_;
    my $n = ++$self->{conf_n};
    my $p = $self->{prefix};
    my $conf = "$p/test-$n.conf";
    my $out = "$p/test-$n.out";

    open my $fh, '>', $conf or die "kvmq test: $conf: $!\n";
    print $fh $self->expand($template, error_log => "$p/test-$n.log");
    close $fh;

    my $rc = $self->_spawn_wait([$NGINX_BIN, '-t', '-p', "$p/", '-c', $conf],
                                $out, 30 * $SLOW);
    my $output = $self->read_file($out) . $self->read_file("test-$n.log");
    $rc = $rc >> 8 if defined $rc && $rc != -1 && !($rc & 127);
    return ($rc, $output);
}


###########################################################################
# start, reload, stop

sub _write_conf {
    my ($self) = @_;
    die "kvmq test: no config given\n" unless defined $self->{template};
    open my $fh, '>', "$self->{prefix}/nginx.conf"
        or die "kvmq test: nginx.conf: $!\n";
    print $fh $self->expand($self->{template});
    close $fh;
}

sub run {
    my ($self, %opt) = @_;
    my $p = $self->{prefix};

    for my $try (1 .. 3) {
        $self->_write_conf;

        my $rc = $self->_spawn_wait(
            [$NGINX_BIN, '-p', "$p/", '-c', "$p/nginx.conf"],
            "$p/stderr.log", 30 * $SLOW);

        if (defined $rc && $rc == 0 && $self->_wait_started) {
            $self->{running} = 1;
            return $self;
        }

        my $log = $self->read_file('stderr.log')
                . $self->read_file('error.log');

        # another process took one of our ports between bind and nginx
        if ($log =~ /Address already in use/ && $try < 3) {
            $self->_kill_master;
            $self->{ports} = {};
            unlink "$p/stderr.log", "$p/error.log";
            next;
        }

        $self->_kill_master;
        die "kvmq test: nginx did not start:\n$log\n";
    }
}

sub _wait_started {
    my ($self) = @_;
    my $deadline = time + 10 * $SLOW;

    while (time < $deadline) {
        my $pid = $self->master_pid;
        if ($pid && _alive($pid)) {
            my $all = 1;
            for my $port (values %{$self->{ports}}) {
                my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                    PeerPort => $port, Proto => 'tcp', Timeout => 1);
                if ($s) {
                    close $s;
                } else {
                    $all = 0;
                }
            }
            return 1 if $all;
        }
        sleep 0.02;
    }

    return 0;
}

sub master_pid {
    my ($self) = @_;
    my $s = $self->read_file('nginx.pid');
    return $s =~ /^(\d+)/ ? $1 : undef;
}

# alive and not a zombie (an orphaned master may wait for a reaper)
sub _alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $st = <$fh> // '';
    close $fh;
    return $st =~ /\)\s+Z/ ? 0 : 1;
}

sub _children {
    my ($ppid) = @_;
    my @kids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $s = <$fh> // '';
        close $fh;
        next unless $s =~ /^(\d+) \(.*\) \S+ (\d+)/s;
        push @kids, $1 if $2 == $ppid;
    }

    return @kids;
}

sub _cmdline {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return '';
    local $/;
    my $s = <$fh> // '';
    close $fh;
    $s =~ tr/\0/ /;
    $s =~ s/\s+$//;
    return $s;
}

# Current workers (not those shutting down after a reload).
sub worker_pids {
    my ($self) = @_;
    my $m = $self->master_pid or return ();
    return sort { $a <=> $b }
           grep { _cmdline($_) =~ /^nginx: worker process$/ } _children($m);
}

sub wait_workers {
    my ($self, $n) = @_;
    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        my @w = $self->worker_pids;
        return 1 if @w >= $n;
        sleep 0.02;
    }
    return 0;
}

# HUP (after writing a new config when conf => TEMPLATE is given), then
# wait for a complete new generation of workers.  False when the reload
# failed (an [emerg] in the log: use allow_log for that) or timed out.
sub reload {
    my ($self, %opt) = @_;
    my $m = $self->master_pid or die "kvmq test: nginx not running\n";

    if (defined $opt{conf}) {
        $self->{template} = $opt{conf};
        $self->_write_conf;
    }

    my @old = $self->worker_pids;
    my %old = map { $_ => 1 } @old;
    my $want = $opt{workers} // (@old || 1);
    my $logsize = -s "$self->{prefix}/error.log" // 0;

    kill 'HUP', $m;

    my $deadline = time + ($opt{timeout} // 10 * $SLOW);
    while (time < $deadline) {
        # old workers first keep their title, then say "is shutting down"
        my @cur = $self->worker_pids;
        my @new = grep { !$old{$_} } @cur;
        return 1 if @new >= $want && @new == @cur;

        my $log = substr($self->read_file('error.log'), $logsize);
        return 0 if $log =~ /\[emerg\]/;

        sleep 0.02;
    }

    return 0;
}

sub _kill_master {
    my ($self) = @_;
    my $m = $self->master_pid or return;
    return unless _alive($m);
    kill 'KILL', _children($m), $m;
}

# QUIT, then TERM, then KILL (master and workers), each for a bounded
# time.  Needing KILL is a test failure (reported by done).
sub stop {
    my ($self) = @_;
    my $m = $self->master_pid;

    $self->_stop_children;

    return $self unless $self->{running} && $m && _alive($m);
    $self->{running} = 0;

    my @kids = _children($m);

    for my $sig (qw(QUIT TERM KILL)) {
        kill 'KILL', @kids if $sig eq 'KILL';
        kill $sig, $m;

        my $deadline = time + ($sig eq 'QUIT' ? 10 : 5) * $SLOW;
        while (time < $deadline && _alive($m)) {
            sleep 0.02;
        }

        unless (_alive($m)) {
            push @{$self->{problems}}, "nginx needed SIGKILL to stop"
                if $sig eq 'KILL';
            return $self;
        }
    }

    push @{$self->{problems}}, "nginx (pid $m) did not stop";
    return $self;
}


###########################################################################
# HTTP

# One request on a fresh connection (Connection: close).
#   $t->http(METHOD, PATH, HEADERS, BODY, %opt)
# HEADERS: hashref or arrayref of pairs (order kept, repeats allowed).
# Options: port => N (default %%PORT%%), timeout => seconds,
# no_length => 1 (do not add Content-Length).
# Returns a Kvmq::Test::Response; on timeout or connection failure its
# status is 0 and error says why.
sub http {
    my ($self, $method, $path, $headers, $body, %opt) = @_;
    my $c = Kvmq::Test::Conn->new($self, %opt)
        or return Kvmq::Test::Response->failed("connect: $!");
    my $r = $c->request($method, $path, $headers, $body, %opt,
                        close => 1);
    $c->close;
    return $r;
}

sub get     { my ($t, $p, %o) = @_; $t->http('GET', $p, $o{headers}); }
sub head    { my ($t, $p, %o) = @_; $t->http('HEAD', $p, $o{headers}); }
sub delete  { my ($t, $p, %o) = @_; $t->http('DELETE', $p, $o{headers}); }

sub put {
    my ($t, $p, $body, %o) = @_;
    return $t->http('PUT', $p, $o{headers}, $body);
}

sub post {
    my ($t, $p, $body, %o) = @_;
    return $t->http('POST', $p, $o{headers}, $body);
}

# A kept-alive connection: $c->request(METHOD, PATH, HEADERS, BODY).
sub connect {
    my ($self, %opt) = @_;
    return Kvmq::Test::Conn->new($self, %opt);
}

# Raw bytes in, raw bytes out (until the server closes or the timeout).
sub raw {
    my ($self, $bytes, %opt) = @_;
    my $c = Kvmq::Test::Conn->new($self, %opt) or return undef;
    $c->send_all($bytes);
    my $out = $c->read_all;
    $c->close;
    return $out;
}

# POST API/cmd with a JSON array of (string) arguments.
sub cmd {
    my ($self, @argv) = @_;
    my @a = map { defined $_ && !ref $_ ? "$_" : $_ } @argv;
    return $self->http('POST', "$self->{api}/cmd",
        ['Content-Type' => 'application/json'], json_encode(\@a));
}

# POST API/cmd with a batch: $t->batch([...], [...])
sub batch {
    my ($self, @cmds) = @_;
    my @b = map { [map { defined $_ && !ref $_ ? "$_" : $_ } @$_] } @cmds;
    return $self->http('POST', "$self->{api}/cmd",
        ['Content-Type' => 'application/json'], json_encode(\@b));
}

# Connections held open to $n different workers, found through a header
# that names the worker (add `add_header X-Pid $pid always;` to the
# location).  Returns ($conn, ...) each with ->{pid}, or () on failure.
sub worker_conns {
    my ($self, $n, %opt) = @_;
    my $path = $opt{path} // '/';
    my $hdr = lc($opt{header} // 'x-pid');
    my %by;

    for (1 .. 200) {
        my $c = $self->connect(%opt) or next;
        my $r = $c->request('GET', $path);
        my $pid = $r->header($hdr);
        if (defined $pid && !$by{$pid} && !$r->{closed}) {
            $c->{pid} = $pid;
            $by{$pid} = $c;
            return values %by if keys %by == $n;
        } else {
            $c->close;
        }
    }

    $_->close for values %by;
    return ();
}


###########################################################################
# redis-server for differential tests

# Start a redis-server on a free loopback port inside the prefix (no
# persistence); returns its port.  Stopped by stop/done/END.
sub redis_port {
    my ($self) = @_;
    return $self->{redis_port} if $self->{redis_port};

    my $port = free_port();
    my $dir = "$self->{prefix}/redis";
    make_path($dir);

    my $pid = fork();
    die "kvmq test: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$dir/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $dir,
             '--daemonize', 'no', '--protected-mode', 'no'
            or POSIX::_exit(127);
    }
    push @{$self->{children}}, $pid;

    my $deadline = time + 10 * $SLOW;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp');
        if ($s) {
            close $s;
            $self->{redis_port} = $port;
            return $port;
        }
        die "kvmq test: redis-server exited:\n"
            . $self->read_file("$dir/redis.log")
            if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }

    die "kvmq test: redis-server did not start\n";
}

# A Redis.pm client connected to redis_port.
sub redis {
    my ($self) = @_;
    require Redis;
    return Redis->new(server => '127.0.0.1:' . $self->redis_port,
                      reconnect => 0, cnx_timeout => 5,
                      read_timeout => 10 * $SLOW,
                      write_timeout => 10 * $SLOW);
}

sub _stop_children {
    my ($self) = @_;
    for my $pid (@{$self->{children}}) {
        kill 'TERM', $pid;
        my $deadline = time + 5;
        while (time < $deadline && waitpid($pid, WNOHANG) == 0) {
            sleep 0.02;
        }
        if (waitpid($pid, WNOHANG) == 0) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
    }
    $self->{children} = [];
    delete $self->{redis_port};
}


###########################################################################
# checks at the end

sub error_log { return $_[0]->read_file('error.log'); }

# lines matching one of these patterns are not reported by done
sub allow_log {
    my ($self, @re) = @_;
    push @{$self->{allow}}, @re;
    return $self;
}

sub bad_log_lines {
    my ($self) = @_;
    my @bad;

    for my $l (split /\n/, $self->error_log) {
        next unless $l =~ /\[(?:alert|crit|emerg)\]/
                    || $l =~ /exited on signal/
                    || $l =~ /was locked by/;
        next if grep { $l =~ $_ } @{$self->{allow}};
        push @bad, $l;
    }

    return @bad;
}

# ASan reads its options in the master, before nginx overwrites the
# original environment with the process title, and writes reports to
# PREFIX/san/.  UBSan (a separate runtime with GCC) reads them lazily, in a
# worker, after that: its reports go to stderr, which is stderr.log or the
# error log.  The module is built with -fno-sanitize-recover, so a UBSan
# report also kills the worker ("exited on signal").
sub sanitizer_reports {
    my ($self) = @_;
    my @r;

    for my $f (sort glob "$self->{prefix}/san/*") {
        push @r, "$f:\n" . $self->read_file($f);
    }

    for my $f ('stderr.log', 'error.log') {
        for my $l (split /\n/, $self->read_file($f)) {
            push @r, "$f: $l"
                if $l =~ /: runtime error: |ERROR: \w+Sanitizer/;
        }
    }

    return @r;
}

# Use instead of plan(tests => N): adds the two end checks.
sub plan {
    my ($self, $n) = @_;
    $self->{planned} = 1;
    Test::More::plan(tests => $n + 2);
    return $self;
}

# Stop nginx, check the error log and sanitizer reports (two tests), and
# finish (done_testing unless plan was used).
sub done {
    my ($self) = @_;
    $self->stop;
    $self->{done} = 1;

    my @bad = ($self->bad_log_lines, @{$self->{problems}});
    Test::More::is(join("\n", @bad), '', 'error log clean');
    Test::More::is(join("\n", $self->sanitizer_reports), '',
                   'no sanitizer reports');

    Test::More::done_testing() unless $self->{planned};
    return $self;
}

sub _cleanup {
    my ($self) = @_;
    my $tb = Test::More->builder;

    if ($ENV{KVMQ_TEST_KEEP} || !$tb->is_passing) {
        Test::More::diag("kvmq test: kept $self->{prefix}");
        return;
    }

    remove_tree($self->{prefix});
}

END {
    my $status = $?;

    for my $t (grep { defined } @LIVE) {
        next unless $t->{creator} == $$;

        unless ($t->{done}) {
            $t->stop;
            my @bad = ($t->bad_log_lines, @{$t->{problems}},
                       $t->sanitizer_reports);
            if (@bad) {
                Test::More::diag(join "\n", @bad);
                Test::More::fail('error log clean (at exit)');
                $status ||= 1;
            }
        }

        $t->_cleanup;
    }

    $? = $status;
}


###########################################################################

package Kvmq::Test::Conn;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

sub new {
    my ($class, $t, %opt) = @_;
    my $port = $opt{port} // $t->port(0);
    my $timeout = $opt{timeout} // $t->{timeout};

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $port, Proto => 'tcp', Timeout => $timeout)
        or return undef;
    $s->blocking(0);

    return bless { s => $s, buf => '', timeout => $timeout,
                   port => $port }, $class;
}

sub close {
    my ($self) = @_;
    close $self->{s} if $self->{s};
    $self->{s} = undef;
}

sub send_all {
    my ($self, $data, $deadline) = @_;
    $deadline //= time + $self->{timeout};
    my $sel = IO::Select->new($self->{s});
    my $off = 0;

    local $SIG{PIPE} = 'IGNORE';

    while ($off < length $data) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite($self->{s}, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            return 0;
        }
        $off += $n;
    }

    return 1;
}

# read more into the buffer; 1 = got data, 0 = EOF, undef = timeout/error
sub _more {
    my ($self, $deadline) = @_;
    my $sel = IO::Select->new($self->{s});

    for (;;) {
        my $left = $deadline - time;
        return undef if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($self->{s}, $self->{buf}, 65536, length $self->{buf});
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            return undef;
        }
        return $n ? 1 : 0;
    }
}

sub read_all {
    my ($self) = @_;
    my $deadline = time + $self->{timeout};
    while (my $r = $self->_more($deadline)) { }
    my $out = $self->{buf};
    $self->{buf} = '';
    return $out;
}

sub _build {
    my ($method, $path, $headers, $body, %opt) = @_;
    my @h = ref $headers eq 'HASH' ? %$headers
          : ref $headers eq 'ARRAY' ? @$headers : ();
    my %have;
    my $req = "$method $path HTTP/1.1\r\n";

    while (@h) {
        my ($k, $v) = splice @h, 0, 2;
        $have{lc $k} = 1;
        $req .= "$k: $v\r\n";
    }

    $req .= "Host: localhost\r\n" unless $have{host};
    $req .= "Connection: close\r\n" if $opt{close} && !$have{connection};

    if (defined $body && !$opt{no_length} && !$have{'content-length'}
        && !$have{'transfer-encoding'})
    {
        $req .= "Content-Length: " . length($body) . "\r\n";
    }

    return $req . "\r\n" . ($body // '');
}

sub request {
    my ($self, $method, $path, $headers, $body, %opt) = @_;
    my $deadline = time + ($opt{timeout} // $self->{timeout});

    return Kvmq::Test::Response->failed('connection closed')
        unless $self->{s};

    if (!$self->send_all(_build($method, $path, $headers, $body, %opt),
                         $deadline))
    {
        # the server may have answered early (413) and closed
        my $r = $self->_response($method, $deadline);
        return $r if $r->{status};
        $self->close;
        return Kvmq::Test::Response->failed('send failed or timed out');
    }

    my $r = $self->_response($method, $deadline);
    $self->close if !$r->{status} || $r->{closed};
    return $r;
}

sub _response {
    my ($self, $method, $deadline) = @_;

    for (;;) {
        my $end;
        while (($end = index($self->{buf}, "\r\n\r\n")) < 0) {
            my $m = $self->_more($deadline);
            return Kvmq::Test::Response->failed(
                defined $m ? 'closed before a response' : 'timeout')
                unless $m;
        }

        my $head = substr($self->{buf}, 0, $end);
        substr($self->{buf}, 0, $end + 4) = '';

        my ($line, @lines) = split /\r\n/, $head;
        my ($status) = $line =~ m{^HTTP/\d\.\d (\d{3})}
            or return Kvmq::Test::Response->failed("bad status: $line");

        my %h;
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
            $k = lc $k;
            $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
        }

        # skip interim responses (100 Continue)
        next if $status >= 100 && $status < 200 && $status != 101;

        my $r = bless { status => $status + 0, headers => \%h,
                        head => $head, body => '' },
                      'Kvmq::Test::Response';

        my $closing = ($h{connection} // '') =~ /close/i;

        if ($method eq 'HEAD' || $status == 204 || $status == 304
            || $status == 101)
        {
            $r->{closed} = $closing;

        } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
            my $body = '';
            for (;;) {
                my $i;
                while (($i = index($self->{buf}, "\r\n")) < 0) {
                    $self->_more($deadline)
                        or return Kvmq::Test::Response->failed(
                            'bad chunked body', $r);
                }
                my ($size) = substr($self->{buf}, 0, $i) =~ /^([0-9a-fA-F]+)/
                    or return Kvmq::Test::Response->failed(
                        'bad chunk size', $r);
                $size = hex $size;
                while (length($self->{buf}) < $i + 2 + $size + 2) {
                    $self->_more($deadline)
                        or return Kvmq::Test::Response->failed(
                            'short chunk', $r);
                }
                $body .= substr($self->{buf}, $i + 2, $size);
                substr($self->{buf}, 0, $i + 2 + $size + 2) = '';
                last if $size == 0;
            }
            $r->{body} = $body;
            $r->{closed} = $closing;

        } elsif (defined $h{'content-length'}) {
            my $len = $h{'content-length'};
            while (length($self->{buf}) < $len) {
                $self->_more($deadline)
                    or return Kvmq::Test::Response->failed(
                        'short body', $r);
            }
            $r->{body} = substr($self->{buf}, 0, $len);
            substr($self->{buf}, 0, $len) = '';
            $r->{closed} = $closing;

        } else {
            while (my $m = $self->_more($deadline)) { }
            $r->{body} = $self->{buf};
            $self->{buf} = '';
            $r->{closed} = 1;
        }

        return $r;
    }
}


###########################################################################

package Kvmq::Test::Response;

sub failed {
    my ($class, $why, $partial) = @_;
    return bless { status => 0, headers => {}, body => '', error => $why,
                   partial => $partial }, $class;
}

sub status { return $_[0]{status}; }
sub body { return $_[0]{body}; }
sub error { return $_[0]{error}; }
sub headers { return $_[0]{headers}; }
sub header { return $_[0]{headers}{lc $_[1]}; }

# decoded JSON body, or undef (with a diag) when it is not JSON
sub json {
    my ($self) = @_;
    my $v = eval { Kvmq::Test::json_decode($self->{body}) };
    return $v unless $@;
    Test::More::diag("not JSON (status $self->{status}"
        . ($self->{error} ? ", $self->{error}" : '') . "): "
        . substr($self->{body}, 0, 200));
    return undef;
}

1;

__END__

=head1 NAME

Kvmq::Test - start nginx with a test's config, talk HTTP to it, check logs

=head1 SYNOPSIS

    use strict;
    use warnings;
    use Test::More;
    use lib 't/lib';
    use Kvmq::Test;

    my $t = Kvmq::Test->new->skip_unless_module;
    $t->conf(<<'EOF')->run;
    load_module %%MODULE%%;
    worker_processes 2;
    http {
        kvmq_zone main size=1m;
        server {
            listen 127.0.0.1:%%PORT%%;
            location /kvmq/ { kvmq_api main; add_header X-Pid $pid always; }
        }
    }
    EOF

    my $r = $t->put('/kvmq/kv/a', "hello");
    is($r->status, 201, 'created');
    is($t->get('/kvmq/kv/a')->body, 'hello', 'read back');
    is_deeply($t->cmd('INCR', 'n')->json, 1, 'INCR');

    my ($rc, $out) = $t->test_config("load_module %%MODULE%%;\n"
        . "http { kvmq_zone z size=oops; }");
    isnt($rc, 0, 'bad size rejected');
    like($out, qr/size/, 'error names it');

    $t->done;    # stop nginx, check the error log, done_testing

=head1 DESCRIPTION

Each object owns a temporary prefix (removed at exit unless a test failed
or C<KVMQ_TEST_KEEP=1>).  Templates may use C<%%PORT%%>, C<%%PORT_1%%> ...
(free loopback ports), C<%%MODULE%%> (C<$KVMQ_MODULE>, default
F<build/ngx_http_kvmq_module.so>) and C<%%PREFIX%%>.  The harness adds pid,
error_log (level C<$KVMQ_TEST_LOG_LEVEL>, default info), lock_file, every
C<*_temp_path> and access_log inside the prefix, C<user nobody nogroup>
when run as root, and C<events {}> when missing; put C<%%TEST_GLOBALS%%> /
C<%%TEST_GLOBALS_HTTP%%> in the template to place them yourself.

=over

=item new(conf => T, api => '/kvmq', timeout => SECONDS)

=item conf(T), run, reload(conf => T, workers => N), stop, done, plan(N)

C<run> dies when nginx does not start.  C<reload> returns true once a new
generation of workers runs, false when the reload failed or timed out.
C<done> (or C<plan(N)> + C<done>) adds two tests: error log clean (no
[alert], [crit], [emerg], "exited on signal", "was locked by" lines except
those matched by C<allow_log(qr/.../)>) and no sanitizer report.  A test
that never calls C<done> still fails at exit on such lines.

=item http(METHOD, PATH, HEADERS, BODY, port => N, timeout => S)

One request on a new connection; returns a response with C<status>,
C<header(NAME)>, C<headers>, C<body> (bytes), C<json>, C<error>.  Status 0
means timeout or connection failure.  Shortcuts: C<get>, C<head>,
C<delete>(PATH, headers => H), C<put>, C<post>(PATH, BODY, headers => H);
C<cmd(NAME, ARGS...)> and C<batch([...], [...])> POST to API/cmd.

=item connect(port => N) -> $c; $c->request(METHOD, PATH, HEADERS, BODY)

A keep-alive connection.  C<worker_conns(N, path => P)> returns N such
connections each held by a different worker (needs C<add_header X-Pid
$pid always;>), for cross-worker tests.  C<raw(BYTES)> sends raw bytes and
returns all the server sends until it closes.

=item test_config(T) -> (EXIT_STATUS, OUTPUT)

C<nginx -t> on a template.

=item master_pid, worker_pids, wait_workers(N), error_log, url(PATH, SCHEME), port(N), prefix, module, has_module, skip_unless_module, write_file(NAME, DATA), read_file(NAME), redis_port, redis

C<redis_port> starts a private redis-server on loopback; C<redis> returns
a Redis.pm client for it.

=back

Under C<make test-asan> (C<KVMQ_SANITIZE=1>) nginx runs with
C<LD_PRELOAD=$KVMQ_PRELOAD> and sanitizer reports written into the prefix;
all waits are four times longer.

=cut
