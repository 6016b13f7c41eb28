#!/usr/bin/perl

# The module loads into the system nginx (same version, binary
# compatible), a zone is declared, and nginx serves and reloads with it.

use strict;
use warnings;

use Test::More;

use lib 't/lib';
use Kvmq::Test;

my $t = Kvmq::Test->new->skip_unless_module;

my $conf = <<'EOF';
load_module %%MODULE%%;
worker_processes 2;

http {
    kvmq_zone main size=1m;

    server {
        listen 127.0.0.1:%%PORT%%;
        location /kvmq/ { kvmq_api main; }
    }
}
EOF

my ($rc, $out) = $t->test_config($conf);
is($rc, 0, 'nginx -t with the module') or diag($out);

$t->conf($conf)->run;
ok($t->wait_workers(2), 'workers running');

my $r = $t->get('/kvmq/cmd/PING');
ok($r->status >= 200 && $r->status < 500, 'answers')
    or diag($r->status . ' ' . ($r->error // '') . ' ' . $r->body);

ok($t->reload, 'reload with the module');

$t->done;
