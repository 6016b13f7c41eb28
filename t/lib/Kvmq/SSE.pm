package Kvmq::SSE;

# A small Server-Sent Events client for the tests, over IO::Socket::INET:
# sends one GET, reads the response head, then decodes the body (chunked
# or not) into events as the EventSource parser of the HTML standard
# does.  Never blocks past its timeouts.  See the POD at the end.

use strict;
use warnings;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time);

use Kvmq::Test ();

sub new {
    my ($class, $t, $path, %opt) = @_;
    my $s;

    if ($opt{conn}) {
        # a kept-alive connection of Kvmq::Test, already on a known worker
        $s = $opt{conn}{s};
        $opt{conn}{s} = undef;
    } else {
        $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $opt{port} // $t->port(0), Proto => 'tcp',
            Timeout => 5) or return undef;
        if ($opt{rcvbuf}) {
            setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', $opt{rcvbuf}));
        }
    }

    $s->blocking(0);

    my $self = bless {
        s        => $s,
        raw      => '',         # bytes read, not yet de-chunked
        body     => '',         # body bytes, not yet parsed
        events   => [],         # parsed, not yet taken
        comments => [],
        retry    => undef,
        eof      => 0,          # the server closed
        ended    => 0,          # the last chunk came
        timeout  => $opt{timeout} // 5 * ($Kvmq::Test::SLOW // 1),
        last_id  => undef,
        # the parser's event being built
        data     => undef,
        type     => '',
        id       => undef,
    }, $class;

    my @h = @{$opt{headers} // []};
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n"
            . "Accept: text/event-stream\r\n";
    while (@h) {
        my ($k, $v) = splice @h, 0, 2;
        $req .= "$k: $v\r\n";
    }
    $req .= "\r\n";

    $self->_send($req) or return undef;
    $self->_head or return $self;

    return $self;
}

sub status { return $_[0]{status}; }
sub header { return $_[0]{headers}{lc $_[1]}; }
sub body_raw { return $_[0]{head_body}; }
sub closed { return $_[0]{eof} || $_[0]{ended}; }
sub comments { return @{$_[0]{comments}}; }
sub retry { return $_[0]{retry}; }
sub last_id { return $_[0]{last_id}; }

sub close {
    my ($self) = @_;
    close $self->{s} if $self->{s};
    $self->{s} = undef;
}

sub _send {
    my ($self, $data) = @_;
    my $sel = IO::Select->new($self->{s});
    my $deadline = time + $self->{timeout};
    my $off = 0;

    local $SIG{PIPE} = 'IGNORE';

    while ($off < length $data) {
        return 0 if time > $deadline;
        next unless $sel->can_write(0.1);
        my $n = syswrite($self->{s}, $data, length($data) - $off, $off);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            return 0;
        }
        $off += $n;
    }

    return 1;
}

# read what is there, waiting at most $wait seconds for something;
# 1 = got bytes, 0 = EOF, undef = nothing yet
sub _read {
    my ($self, $wait) = @_;
    return 0 if $self->{eof} || !$self->{s};
    my $sel = IO::Select->new($self->{s});
    return undef unless $sel->can_read($wait);
    my $n = sysread($self->{s}, $self->{raw}, 262144, length $self->{raw});
    if (!defined $n) {
        return undef if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
        $self->{eof} = 1;
        return 0;
    }
    if ($n == 0) {
        $self->{eof} = 1;
        return 0;
    }
    return 1;
}

sub _head {
    my ($self) = @_;
    my $deadline = time + $self->{timeout};
    my $end;

    while (($end = index($self->{raw}, "\r\n\r\n")) < 0) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        my $r = $self->_read($left);
        return 0 if defined $r && $r == 0 && index($self->{raw}, "\r\n\r\n") < 0;
    }

    my $head = substr($self->{raw}, 0, $end);
    substr($self->{raw}, 0, $end + 4) = '';

    my ($line, @lines) = split /\r\n/, $head;
    ($self->{status}) = $line =~ m{^HTTP/\d\.\d (\d{3})};
    $self->{status} //= 0;

    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $h{lc $k} = exists $h{lc $k} ? "$h{lc $k}, $v" : $v;
    }
    $self->{headers} = \%h;
    $self->{chunked} = ($h{'transfer-encoding'} // '') =~ /chunked/i;

    if (defined $h{'content-length'}) {
        # an error answer, not a stream: read the whole body
        my $len = $h{'content-length'};
        while (length($self->{raw}) < $len && time < $deadline) {
            my $r = $self->_read($deadline - time);
            last if defined $r && $r == 0;
        }
        $self->{head_body} = substr($self->{raw}, 0, $len);
        $self->{raw} = '';
        $self->{ended} = 1;
        return 0;
    }

    $self->_decode;
    return 1;
}

# raw -> body (de-chunk), body -> events
sub _decode {
    my ($self) = @_;

    if (!$self->{chunked}) {
        $self->{body} .= $self->{raw};
        $self->{raw} = '';
    } else {
        while (!$self->{ended}) {
            my $i = index($self->{raw}, "\r\n");
            last if $i < 0;
            my ($size) = substr($self->{raw}, 0, $i) =~ /^([0-9a-fA-F]+)/;
            die "Kvmq::SSE: bad chunk size\n" unless defined $size;
            $size = hex $size;
            if ($size == 0) {
                last if length($self->{raw}) < $i + 4;
                substr($self->{raw}, 0, $i + 4) = '';
                $self->{ended} = 1;
                last;
            }
            last if length($self->{raw}) < $i + 2 + $size + 2;
            $self->{body} .= substr($self->{raw}, $i + 2, $size);
            substr($self->{raw}, 0, $i + 2 + $size + 2) = '';
        }
    }

    # lines end with CR LF, CR or LF; a CR at the very end may be the
    # first half of a CR LF: wait for more
    while ($self->{body} =~ /\A([^\r\n]*)(\r\n|\r(?!\z)|\n)/) {
        my $line = $1;
        substr($self->{body}, 0, length($1) + length($2)) = '';
        $self->_line($line);
    }
}

sub _line {
    my ($self, $line) = @_;

    if ($line eq '') {
        if (defined $self->{data}) {
            my $d = $self->{data};
            $d =~ s/\n\z//;
            push @{$self->{events}}, {
                type => $self->{type} || 'message',
                data => $d,
                id   => $self->{id},
            };
            $self->{last_id} = $self->{id} if defined $self->{id};
        }
        $self->{data} = undef;
        $self->{type} = '';
        $self->{id} = undef;
        return;
    }

    if ($line =~ /^:(.*)/s) {
        push @{$self->{comments}}, $1;
        return;
    }

    my ($field, $value) = $line =~ /^([^:]*)(?::\s?(.*))?$/s;
    $value //= '';

    if ($field eq 'data') {
        $self->{data} = ($self->{data} // '') . $value . "\n";
    } elsif ($field eq 'event') {
        $self->{type} = $value;
    } elsif ($field eq 'id') {
        $self->{id} = $value;
    } elsif ($field eq 'retry') {
        $self->{retry} = $value if $value =~ /^\d+$/;
    }
}

# Pump the socket for up to $wait seconds (0: what is there now).
sub pump {
    my ($self, $wait) = @_;
    my $deadline = time + ($wait // 0);

    for (;;) {
        my $r = $self->_read(0);
        $self->_decode if defined $r && $r;
        last if !defined $r || !$r;
    }

    while (time < $deadline && !$self->closed) {
        my $r = $self->_read($deadline - time);
        last unless defined $r;
        $self->_decode if $r;
        last if $r == 0;
    }

    return $self;
}

# Wait until n events have arrived (or the stream closed, or timeout);
# returns all events taken so far and removes them from the queue.
sub events {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});

    $self->pump(0);

    while (@{$self->{events}} < $n && !$self->closed && time < $deadline) {
        my $r = $self->_read($deadline - time);
        $self->_decode if $r;
        last if defined $r && $r == 0;
    }

    $self->_decode;

    my @e = @{$self->{events}};
    $self->{events} = [];
    return @e;
}

# Wait for the server to end the stream; returns the events before it.
sub wait_close {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});

    while (!$self->closed && time < $deadline) {
        my $r = $self->_read($deadline - time);
        $self->_decode if $r;
    }

    $self->_decode;
    my @e = @{$self->{events}};
    $self->{events} = [];
    return @e;
}

# Kept-alive connections, $per on each of the running workers, found
# through the X-Pid header (add_header X-Pid $pid always): a hash of
# worker pid => [conn, ...], or undef when the workers could not all be
# reached.  Each conn has ->{pid}.
sub pinned_conns {
    my ($t, $per, %opt) = @_;
    my $path = $opt{path} // $t->api . '/stats';
    my @w = $t->worker_pids;
    my %by = map { $_ => [] } @w;
    my $need = $per * @w;
    my $have = 0;

    for (1 .. 200 * $need) {
        my $c = $t->connect(%opt) or next;
        my $r = $c->request('GET', $path);
        my $pid = $r->header('x-pid');
        if (defined $pid && $by{$pid} && @{$by{$pid}} < $per
            && !$r->{closed})
        {
            $c->{pid} = $pid;
            push @{$by{$pid}}, $c;
            return \%by if ++$have == $need;
        } else {
            $c->close;
        }
    }

    $_->close for map { @$_ } values %by;
    return undef;
}

1;

__END__

=head1 NAME

Kvmq::SSE - a Server-Sent Events client for kvmq's tests

=head1 SYNOPSIS

    use Kvmq::SSE;

    my $s = Kvmq::SSE->new($t, '/kvmq/subscribe/ch',
                           headers => ['Last-Event-ID' => 5]);
    is($s->status, 200);
    my @ev = $s->events(3, 2);   # wait for 3 events, at most 2 s
    # $ev[0]{id}, $ev[0]{type} ('message', 'gap' ...), $ev[0]{data}
    my @comments = $s->comments; # ": ping" keep-alives, without ':'
    $s->wait_close(2);           # until the server ends the stream
    $s->close;

=head1 DESCRIPTION

C<new($t, PATH, headers =E<gt> [...], conn =E<gt> $c, rcvbuf =E<gt> N,
port =E<gt> N, timeout =E<gt> S)> sends the request on a new connection,
or on C<$c>, a kept-alive connection of C<Kvmq::Test> (C<worker_conns>),
to subscribe on a known worker.  A response with a Content-Length (an
error) is read whole: C<status>, C<header>, C<body_raw>.  Otherwise the
body is parsed as an event stream (chunked or not): C<events(N, WAIT)>,
C<pump(WAIT)>, C<comments>, C<retry>, C<last_id>, C<closed>,
C<wait_close(WAIT)>.  C<rcvbuf> shrinks the socket's receive buffer, for
slow-client tests.

C<Kvmq::SSE::pinned_conns($t, PER)> returns C<{ pid =E<gt> [conn, ...] }>
with PER kept-alive connections on each running worker (the location
needs C<add_header X-Pid $pid always>), to publish or subscribe from a
chosen worker.

=cut
