# @summary Installs the picket package, from the configured repositories
#   or from the file package_source names.
#
# @api private
class picket::install {
  $source = $picket::package_source
  if $source =~ Undef {
    package { 'picket':
      ensure => $picket::package_ensure,
      name   => $picket::package_name,
    }
  } else {
    $provider = $facts.dig('os', 'family') ? {
      'Debian' => 'dpkg',
      'RedHat' => 'rpm',
      default  => fail("picket: package_source needs a Debian or Red Hat system, not ${facts.dig('os', 'family')}"),
    }
    # dpkg and rpm install local files; anything else is fetched first.
    if $source =~ Picket::Path {
      $local = $source
    } else {
      $file = $source.split(/[?#]/)[0].split('/')[-1]
      unless $file =~ /\A[^\/]+\.(deb|rpm)\z/ {
        fail("picket: package_source ${source} does not end in a .deb or .rpm file name")
      }
      $local = "/var/cache/picket/${file}"
      file { '/var/cache/picket':
        ensure => directory,
        owner  => 'root',
        group  => 'root',
        mode   => '0755',
      }
      file { $local:
        ensure => file,
        source => $source,
        owner  => 'root',
        group  => 'root',
        mode   => '0644',
        before => Package['picket'],
      }
    }
    package { 'picket':
      ensure   => $picket::package_ensure,
      name     => $picket::package_name,
      provider => $provider,
      source   => $local,
    }
  }
}
