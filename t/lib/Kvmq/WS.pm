package Kvmq::WS;

# A raw WebSocket client for the tests, on IO::Socket::INET: the test
# controls every bit of every frame (masking, fragmentation, reserved
# bits, lengths), so it can send what a real client library never would,
# and it sees the server's frames byte for byte.  Nothing here hangs: every
# read has a deadline.  See the POD at the end.

use strict;
use warnings;

use Digest::SHA qw(sha1);
use IO::Select;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

use Kvmq::Test qw(json_decode json_encode);

use constant {
    CONT   => 0x0,
    TEXT   => 0x1,
    BINARY => 0x2,
    CLOSE  => 0x8,
    PING   => 0x9,
    PONG   => 0xa,
};

use Exporter qw(import);
our @EXPORT_OK = qw(CONT TEXT BINARY CLOSE PING PONG);

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';


# Kvmq::WS->new($t, path => ..., headers => [...], ...)
sub new {
    my ($class, $t, %opt) = @_;

    my $self = bless {
        t       => $t,
        buf     => '',
        eof     => 0,
        timeout => $opt{timeout} // 5 * $Kvmq::Test::SLOW,
        frames  => [],
    }, $class;

    my $port = $opt{port} // $t->port($opt{port_n} // 0);

    $self->{sock} = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
        Timeout => $self->{timeout},
    ) or return undef;

    $self->{sock}->autoflush(1);
    binmode $self->{sock};

    if ($opt{rcvbuf}) {
        setsockopt($self->{sock}, Socket::SOL_SOCKET(),
                   Socket::SO_RCVBUF(), $opt{rcvbuf});
    }

    return $self if $opt{no_handshake};

    $self->handshake(%opt);
    return $self;
}

sub connect { my $class = shift; return $class->new(@_); }

sub handshake {
    my ($self, %opt) = @_;

    my $path = $opt{path} // $self->{t}->api . '/ws';
    my $key = $opt{key}
        // encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $method = $opt{method} // 'GET';
    my $proto = $opt{http} // 'HTTP/1.1';

    my @h = (
        Host                    => '127.0.0.1',
        Upgrade                 => 'websocket',
        Connection              => 'Upgrade',
        'Sec-WebSocket-Key'     => $key,
        'Sec-WebSocket-Version' => '13',
    );

    # headers => [Name => value, ...]: undef removes, others replace
    my %over;
    my @extra;
    my $hs = $opt{headers} // [];
    for (my $i = 0; $i < @$hs; $i += 2) {
        my ($n, $v) = ($hs->[$i], $hs->[$i + 1]);
        if (grep { lc $_ eq lc $n } @h[grep { $_ % 2 == 0 } 0 .. $#h]) {
            $over{lc $n} = $v;
        } else {
            push @extra, $n, $v;
        }
    }

    my $req = "$method $path $proto\r\n";
    for (my $i = 0; $i < @h; $i += 2) {
        my $n = $h[$i];
        my $v = exists $over{lc $n} ? $over{lc $n} : $h[$i + 1];
        $req .= "$n: $v\r\n" if defined $v;
    }
    for (my $i = 0; $i < @extra; $i += 2) {
        $req .= "$extra[$i]: $extra[$i + 1]\r\n";
    }
    $req .= "\r\n";
    $req .= $opt{after} if defined $opt{after};    # frames right behind

    $self->send_raw($req);

    # the response head
    my $deadline = time + $self->{timeout};
    while ($self->{buf} !~ /\r\n\r\n/) {
        last unless $self->_fill($deadline);
    }

    my $i = index($self->{buf}, "\r\n\r\n");
    if ($i < 0) {
        $self->{status} = 0;
        return $self;
    }

    my $head = substr($self->{buf}, 0, $i + 4, '');
    $self->{head} = $head;
    my ($status_line, @lines) = split /\r\n/, $head;
    ($self->{status}) = $status_line =~ m{^HTTP/\d\.\d (\d+)};
    $self->{status} //= 0;
    $self->{status_line} = $status_line;
    $self->{headers} = {};
    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*)$/ or next;
        $self->{headers}{lc $n} = $v;
    }

    $self->{expected_accept} = encode_base64(sha1($key . $GUID), '');

    if ($self->{status} != 101) {
        # the error body, when it says how long it is
        my $len = $self->{headers}{'content-length'} // 0;
        while (length $self->{buf} < $len) {
            last unless $self->_fill($deadline);
        }
        $self->{body} = substr($self->{buf}, 0, $len, '');
    }

    return $self;
}

sub status { return $_[0]{status}; }
sub status_line { return $_[0]{status_line}; }
sub head { return $_[0]{head}; }
sub header { return $_[0]{headers}{lc $_[1]}; }
sub body { return $_[0]{body}; }
sub sock { return $_[0]{sock}; }

sub accept_ok {
    my ($self) = @_;
    return defined $self->header('Sec-WebSocket-Accept')
        && $self->header('Sec-WebSocket-Accept') eq $self->{expected_accept};
}

sub json { my $b = $_[0]{body}; return eval { json_decode($b) }; }


###########################################################################
# sending

sub send_raw {
    my ($self, $bytes) = @_;
    my $off = 0;
    my $sel = IO::Select->new($self->{sock});
    my $deadline = time + $self->{timeout};

    while ($off < length $bytes) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        return 0 unless defined $n && $n > 0;
        $off += $n;
    }

    return 1;
}

# The bytes of one frame.  Options: fin (1), rsv (0..7), mask (1),
# key (4 bytes), len => 16|64 (force that length encoding).
sub frame {
    my ($self, $opcode, $payload, %o) = @_;
    $payload //= '';

    my $fin = $o{fin} // 1;
    my $rsv = $o{rsv} // 0;
    my $mask = $o{mask} // 1;
    my $len = length $payload;

    my $b = chr(($fin ? 0x80 : 0) | (($rsv & 7) << 4) | ($opcode & 0xf));
    my $m = $mask ? 0x80 : 0;

    if ($len < 126 && !$o{len}) {
        $b .= chr($m | $len);
    } elsif ($len < 65536 && ($o{len} // 16) == 16) {
        $b .= chr($m | 126) . pack('n', $len);
    } else {
        $b .= chr($m | 127) . pack('Q>', $o{len64} // $len);
    }

    if ($mask) {
        my $key = $o{key} // join '', map { chr int rand 256 } 1 .. 4;
        $b .= $key;
        my $k = substr($key x (int($len / 4) + 1), 0, $len);
        $payload = $payload ^ $k;
    }

    return $b . $payload;
}

sub send_frame {
    my ($self, @a) = @_;
    return $self->send_raw($self->frame(@a));
}

sub send_text { my ($s, $p, %o) = @_; $s->send_frame(TEXT, $p, %o); }
sub send_binary { my ($s, $p, %o) = @_; $s->send_frame(BINARY, $p, %o); }
sub ping { my ($s, $p, %o) = @_; $s->send_frame(PING, $p, %o); }
sub pong { my ($s, $p, %o) = @_; $s->send_frame(PONG, $p, %o); }

# a close frame: (code, reason), () for an empty one
sub send_close {
    my ($self, $code, $reason) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    return $self->send_frame(CLOSE, $p);
}


###########################################################################
# receiving

sub _fill {
    my ($self, $deadline) = @_;
    return 0 if $self->{eof};

    my $left = $deadline - time;
    return 0 if $left <= 0;

    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read($left);

    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) {
        $self->{eof} = 1;
        return 0;
    }

    $self->{buf} .= $chunk;
    return 1;
}

# The next frame as {fin, rsv, opcode, masked, payload, bytes}, or undef
# on timeout or end of stream (then ->eof is true).
sub recv_frame {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});

    for (;;) {
        my $f = $self->_parse_frame;
        return $f if $f;
        return undef unless $self->_fill($deadline);
    }
}

sub _parse_frame {
    my ($self) = @_;
    my $b = $self->{buf};
    return undef if length $b < 2;

    my ($b0, $b1) = unpack('CC', $b);
    my $len = $b1 & 0x7f;
    my $off = 2;

    if ($len == 126) {
        return undef if length $b < 4;
        $len = unpack('n', substr($b, 2, 2));
        $off = 4;
    } elsif ($len == 127) {
        return undef if length $b < 10;
        $len = unpack('Q>', substr($b, 2, 8));
        $off = 10;
    }

    my $masked = $b1 & 0x80;
    my $key;
    if ($masked) {
        return undef if length $b < $off + 4;
        $key = substr($b, $off, 4);
        $off += 4;
    }

    return undef if length $b < $off + $len;

    my $bytes = substr($self->{buf}, 0, $off + $len, '');
    my $payload = substr($bytes, $off);
    if ($masked) {
        $payload ^= substr($key x (int($len / 4) + 1), 0, $len);
    }

    return {
        fin     => ($b0 & 0x80) ? 1 : 0,
        rsv     => ($b0 >> 4) & 7,
        opcode  => $b0 & 0xf,
        masked  => $masked ? 1 : 0,
        payload => $payload,
        bytes   => $bytes,
    };
}

sub eof { return $_[0]{eof}; }

# The next data message (fragments joined); pings are answered and pongs
# skipped on the way.  A close frame is kept in ->{close}.  undef on
# timeout, end of stream or close.
sub recv_message {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    my $msg;

    for (;;) {
        my $f = $self->recv_frame($deadline - time) or return undef;

        if ($f->{opcode} == PING) {
            $self->pong($f->{payload});
            next;
        }
        next if $f->{opcode} == PONG;

        if ($f->{opcode} == CLOSE) {
            $self->{close} = $f;
            return undef;
        }

        $msg = defined $msg ? $msg . $f->{payload} : $f->{payload};
        return $msg if $f->{fin};
    }
}

# ($code, $reason) of the next close frame, reading past anything else;
# () when none comes.  Other frames seen on the way go to ->{skipped}.
sub recv_close {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    $self->{skipped} = [];

    for (;;) {
        my $f = $self->recv_frame($deadline - time) or return ();
        if ($f->{opcode} == CLOSE) {
            $self->{close} = $f;
            my $p = $f->{payload};
            return (undef, '') if length $p == 0;
            return (unpack('n', $p), substr($p, 2));
        }
        push @{$self->{skipped}}, $f;
    }
}

# true when the server closes the TCP connection within the timeout
# (whatever it sends before is read and dropped)
sub wait_eof {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    while (!$self->{eof}) {
        $self->{buf} = '';
        last unless $self->_fill($deadline);
    }
    return $self->{eof};
}


###########################################################################
# the kvmq protocol

# send {"id": ID, "cmd": ARGV} and return the decoded reply
sub cmd {
    my ($self, $id, $argv, %o) = @_;
    my @a = map { defined $_ && !ref $_ ? "$_" : $_ } @$argv;
    my $msg = '{"id":' . json_encode($id) . ',"cmd":' . json_encode(\@a)
            . '}';
    return $self->request($msg, %o);
}

# send a text message (bytes) and return the next message decoded
sub request {
    my ($self, $text, %o) = @_;
    $self->send_text($text) or return undef;
    my $r = $self->recv_message($o{timeout}) // return undef;
    $self->{last_raw} = $r;
    return eval { json_decode($r) } // { raw => $r };
}

sub last_raw { return $_[0]{last_raw}; }

# A clean close from the client: send (code), wait for the server's close
# frame and its end of the TCP connection.  Returns the server's code.
sub close {
    my ($self, $code, $reason) = @_;
    $self->send_close($code // 1000, $reason);
    my ($c) = $self->recv_close;
    $self->wait_eof;
    CORE::close($self->{sock});
    return $c;
}

sub DESTROY {
    my ($self) = @_;
    CORE::close($self->{sock}) if $self->{sock};
}

1;

__END__

=head1 NAME

Kvmq::WS - a raw WebSocket client for kvmq's tests

=head1 SYNOPSIS

    use Kvmq::WS qw(TEXT PING CLOSE);

    my $ws = Kvmq::WS->new($t);                # GET /kvmq/ws, handshake
    is($ws->status, 101);
    ok($ws->accept_ok, 'Sec-WebSocket-Accept');

    is_deeply($ws->cmd(1, ['PING']), {id => 1, result => 'PONG'});

    $ws->send_frame(TEXT, '{"id":1,', fin => 0);      # fragments
    $ws->send_frame(0, '"cmd":["PING"]}');
    $ws->send_frame(TEXT, 'x', mask => 0);           # a bad frame
    my ($code, $reason) = $ws->recv_close;             # 1002, "..."
    ok($ws->wait_eof, 'server closed the connection');

=head1 METHODS

=over

=item new($t, %opt)

Connects to C<$t-E<gt>port> (or C<port =E<gt> N>) and performs the
handshake on C<path> (default API/ws).  C<headers =E<gt> [Name =E<gt>
value]> replaces or (undef) removes a default header or adds one;
C<key>, C<method>, C<http> ("HTTP/1.0"), C<after> (bytes sent right
behind the request), C<no_handshake>, C<rcvbuf>, C<timeout>.  Then
C<status>, C<status_line>, C<header(NAME)>, C<head>, C<accept_ok>; for a
refused handshake C<body> and C<json>.

=item frame(OPCODE, PAYLOAD, %o), send_frame(...), send_raw(BYTES)

Options: C<fin> (1), C<rsv> (0-7), C<mask> (1), C<key> (4 bytes),
C<len =E<gt> 16|64> to force an extended length encoding, C<len64> to
write another 64-bit length than the payload's.  Shortcuts: C<send_text>,
C<send_binary>, C<ping>, C<pong>, C<send_close(CODE, REASON)> (no
arguments: an empty close frame).

=item recv_frame(TIMEOUT)

C<{fin, rsv, opcode, masked, payload, bytes}> (C<bytes>: the whole frame
as received), or undef on timeout / end of stream (C<eof>).

=item recv_message(TIMEOUT), recv_close(TIMEOUT), wait_eof(TIMEOUT)

The next data message (pings answered); the next close frame's (code,
reason), frames read on the way in C<{skipped}>; whether the server
closes the TCP connection.

=item cmd(ID, [ARGV]), request(TEXT), close(CODE, REASON)

A kvmq command and its decoded reply (C<last_raw> is its text); a raw
message and its decoded reply; a clean client close, returning the
server's close code.

=back

=cut
