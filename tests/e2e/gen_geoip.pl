#!/usr/bin/perl
# Writes a small MaxMind country database for the GeoIP tests: loopback
# addresses mapped to countries (127.0.0.2 -> DE, 127.0.0.3 -> US,
# ::1 -> JP). Reserved networks must be kept, or the writer drops them.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: gen_geoip.pl OUT.mmdb\n";
my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'sks5-Test-Country',
    languages                => ['en'],
    description              => { en => 'sks5 test countries' },
    remove_reserved_networks => 0,
    map_key_type_callback    => sub { $types{ $_[0] } },
);
$tree->insert_network('127.0.0.2/32', { country => { iso_code => 'DE' } });
$tree->insert_network('127.0.0.3/32', { country => { iso_code => 'US' } });
$tree->insert_network('::1/128', { country => { iso_code => 'JP' } });
open(my $fh, '>:raw', $out) or die "$out: $!\n";
$tree->write_tree($fh);
close($fh) or die "$out: $!\n";
