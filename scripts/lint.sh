#!/bin/sh
# make lint: nginx's basic layout rules over our C files, then cppcheck.
#
#   - no line longer than 80 columns
#   - no tabs, no trailing white space (nor CR line ends)
#   - no // comments (a "//" inside a string or /* */ comment is fine)
#   - cppcheck --enable=warning,performance,portability reports nothing
#
# Layout rules cover src/, ngx_module/, tools/ and t/unit/ (.c and .h);
# cppcheck covers src/, ngx_module/ and tools/.  cppcheck runs without the
# nginx headers: it then treats nginx macros as unknown calls, which keeps
# it fast and free of false reports from nginx's own #ifdef maze.
# Suppressions: inline (/* cppcheck-suppress id */) with a reason next to
# it, or one per line in scripts/cppcheck.supp with a comment.

set -e

cd "$(dirname "$0")/.."

files=
cfiles=
for f in src/*.c src/*.h ngx_module/*.c ngx_module/*.h tools/*.c tools/*.h \
         bench/*.c \
         t/unit/*.c t/unit/*.h
do
    [ -f "$f" ] || continue
    files="$files $f"
    case $f in
        t/*|*.h) ;;
        *) cfiles="$cfiles $f" ;;
    esac
done

if [ -z "$files" ]; then
    echo "make lint: no C files yet"
    exit 0
fi

# shellcheck disable=SC2086
perl -e '
    use strict;
    use warnings;

    my $bad = 0;

    for my $file (@ARGV) {
        open my $fh, "<:raw", $file or die "$file: $!\n";
        my $text = do { local $/; <$fh> };
        close $fh;

        my @lines = split /\n/, $text, -1;
        pop @lines if @lines && $lines[-1] eq "";

        for my $i (0 .. $#lines) {
            my $l = $lines[$i];
            my $n = $i + 1;
            my $chars = $l;
            utf8::decode($chars);

            if (length($chars) > 80) {
                print "$file:$n: line longer than 80 columns\n";
                $bad++;
            }
            if ($l =~ /\t/) {
                print "$file:$n: tab\n";
                $bad++;
            }
            if ($l =~ /[ \t\r]$/) {
                print "$file:$n: trailing white space\n";
                $bad++;
            }
        }

        # Walk the text as C: code, "string", char, /* comment */.
        my ($state, $line) = ("code", 1);
        my $len = length $text;

        for (my $p = 0; $p < $len; $p++) {
            my $c = substr($text, $p, 1);
            my $next = $p + 1 < $len ? substr($text, $p + 1, 1) : "";

            $line++ if $c eq "\n";

            if ($state eq "code") {
                if ($c eq "/" && $next eq "/") {
                    print "$file:$line: // comment\n";
                    $bad++;
                    $p++ while $p + 1 < $len
                               && substr($text, $p + 1, 1) ne "\n";
                } elsif ($c eq "/" && $next eq "*") {
                    $state = "comment";
                    $p++;
                } elsif ($c eq "\"") {
                    $state = "string";
                } elsif ($c eq "\x27") {
                    $state = "char";
                }

            } elsif ($state eq "comment") {
                if ($c eq "*" && $next eq "/") {
                    $state = "code";
                    $p++;
                }

            } else {
                my $q = $state eq "string" ? "\"" : "\x27";
                if ($c eq "\\") {
                    $line++ if $next eq "\n";
                    $p++;
                } elsif ($c eq $q || $c eq "\n") {
                    $state = "code";
                }
            }
        }
    }

    exit($bad ? 1 : 0);
' $files || {
    echo "make lint: layout errors above" >&2
    exit 1
}

if [ -n "$cfiles" ]; then
    supp=
    if [ -f scripts/cppcheck.supp ]; then
        supp="--suppressions-list=scripts/cppcheck.supp"
    fi

    # shellcheck disable=SC2086
    cppcheck --enable=warning,performance,portability --error-exitcode=1 \
        --quiet --inline-suppr --std=c99 --platform=unix64 --library=posix \
        -I src -I ngx_module $supp $cfiles || {
        echo "make lint: cppcheck reported the above" >&2
        exit 1
    }
fi

# shellcheck disable=SC2086
echo "make lint: ok ($(echo $files | wc -w) files)"
