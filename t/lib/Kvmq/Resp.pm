package Kvmq::Resp;

# A minimal RESP2 client for the differential tests: exact reply types
# (status, error, integer, bulk, nil, array) so that kvmq's JSON replies
# can be compared with what redis-server really says.

use strict;
use warnings;

use IO::Socket::INET;

sub new {
    my ($class, %args) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => $args{host} // '127.0.0.1',
        PeerPort => $args{port},
        Proto    => 'tcp',
        Timeout  => 5,
    ) or die "cannot connect to redis on port $args{port}: $!";
    binmode $sock;
    return bless { sock => $sock }, $class;
}

# Returns a reply as a typed tree:
#   ['status', 'OK'] ['error', 'ERR ...'] ['int', 5] ['bulk', "..."]
#   ['nil'] ['array', [...]]
sub cmd {
    my ($self, @args) = @_;
    my $req = '*' . scalar(@args) . "\r\n";
    for my $a (@args) {
        $req .= '$' . length($a) . "\r\n" . $a . "\r\n";
    }
    my $sock = $self->{sock};
    print {$sock} $req or die "redis write: $!";
    return $self->_read;
}

sub _line {
    my ($self) = @_;
    my $line = readline($self->{sock});
    die "redis closed the connection" unless defined $line;
    $line =~ s/\r\n\z//;
    return $line;
}

sub _read {
    my ($self) = @_;
    my $line = $self->_line;
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));

    return ['status', $rest] if $t eq '+';
    return ['error', $rest] if $t eq '-';
    return ['int', 0 + $rest] if $t eq ':';

    if ($t eq '$') {
        return ['nil'] if $rest == -1;
        my $buf = '';
        while (length($buf) < $rest + 2) {
            my $n = read($self->{sock}, $buf, $rest + 2 - length($buf),
                length($buf));
            die "redis read: $!" unless $n;
        }
        return ['bulk', substr($buf, 0, $rest)];
    }

    if ($t eq '*') {
        return ['nil'] if $rest == -1;
        return ['array', [map { $self->_read } 1 .. $rest]];
    }

    die "unexpected RESP line '$line'";
}

1;
