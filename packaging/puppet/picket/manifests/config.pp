# @summary Writes /etc/picket/picket.toml, the secret files and the
#   plugins.
#
# Secrets are Sensitive all the way into the file resources, which show no
# diff; the config names their files and never holds them.
#
# @api private
class picket::config {
  $secret_files = {
    $picket::password_file => $picket::nsca_password,
    $picket::token_file    => $picket::registration_token,
  }.filter |$path, $secret| { $secret =~ NotUndef }

  $secret_files.each |$path, $secret| {
    file { $path:
      ensure    => file,
      owner     => 'root',
      group     => $picket::group,
      mode      => '0640',
      content   => $secret,
      show_diff => false,
      before    => File[$picket::config_file],
    }
  }

  # The config names a secret's file only when Puppet writes it.
  $password_ref = $picket::nsca_password ? {
    undef   => undef,
    default => $picket::password_file,
  }
  $token_ref = $picket::registration_token ? {
    undef   => undef,
    default => $picket::token_file,
  }

  # host and port joined as the agent wants them; an IPv6 address goes in
  # brackets.
  $targets = $picket::targets.map |$t| {
    $address = $t['port'] ? {
      undef   => $t['address'],
      default => $t['address'] ? {
        /\A[^\[].*:/ => "[${t['address']}]:${t['port']}",
        default      => "${t['address']}:${t['port']}",
      },
    }
    $t - 'port' + { 'address' => $address }
  }

  file { $picket::config_file:
    ensure       => file,
    owner        => 'root',
    group        => $picket::group,
    mode         => '0640',
    content      => epp('picket/picket.toml.epp', {
        'hostname'             => $picket::hostname,
        'plugin_dirs'          => $picket::plugin_dirs,
        'targets'              => $targets,
        'password_file'        => $password_ref,
        'externals_url'        => $picket::externals_url,
        'externals_ca_file'    => $picket::externals_ca_file,
        'externals_public_key' => $picket::externals_public_key,
        'proxy'                => $picket::proxy,
        'registration_url'     => $picket::registration_url,
        'token_file'           => $token_ref,
        'metadata'             => $picket::registration_metadata,
        'log_level'            => $picket::log_level,
        'log_file'             => $picket::log_file,
        'extra_config'         => $picket::extra_config,
    }),
    validate_cmd => "${picket::binary} config check %",
  }

  # As the package makes it: root's, so the agent cannot change what it
  # runs. The plugins in it are root:picket 0750: the agent may run them,
  # other users may not even read them.
  file { $picket::plugins_dir:
    ensure  => directory,
    owner   => 'root',
    group   => 'root',
    mode    => '0755',
    recurse => $picket::purge_plugins,
    purge   => $picket::purge_plugins,
    force   => $picket::purge_plugins,
  }

  $picket::plugins.each |$name, $plugin| {
    file { "${picket::plugins_dir}/${name}":
      ensure  => file,
      owner   => 'root',
      group   => $picket::group,
      mode    => $plugin['mode'].lest || { '0750' },
      source  => $plugin['source'],
      content => $plugin['content'],
    }
  }
}
