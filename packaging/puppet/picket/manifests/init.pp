# @summary Installs and configures the picket agent: the package, its
#   config /etc/picket/picket.toml, the NSCA password and registration
#   token files, plugins in /etc/picket/plugins.d, and the picket service.
#
# The config is checked with `picket config check` before it replaces the
# running one, so a value the agent would refuse fails the Puppet run and
# leaves the previous file in place.
#
# When the service is managed, a changed config or registration token
# reloads the agent (SIGHUP, through `systemctl try-reload-or-restart`):
# checks whose definition did not change keep their schedule and results
# queued in the spool are not touched. A new package, or a new NSCA
# password, restarts it: the running binary must be replaced, and the
# agent reads the password only when its senders start, which a reload
# with unchanged targets does not do.
#
# @example One Nagios server, checks from the central server
#   class { 'picket':
#     targets            => [{ address => 'nagios1.example.com:5667', encryption => 'aes256' }],
#     nsca_password      => Sensitive('s3cret'),
#     externals_url      => 'https://nagios1.example.com:8443/externals/',
#     registration_url   => 'https://nagios1.example.com:8443/v1/register',
#     registration_token => Sensitive('token-from-register.tokens'),
#   }
#
# @param package_ensure
#   The package's ensure: 'installed', 'latest', a version string, or
#   'absent'/'purged' to remove the agent (then nothing else is managed).
# @param package_source
#   A .deb (Debian, Ubuntu) or .rpm (Red Hat) to install instead of the
#   configured repositories: an absolute path on the host, or a URL a file
#   resource can fetch (puppet:///, https://), which is first copied into
#   /var/cache/picket.
# @param package_name
#   The package's name.
# @param targets
#   The NSCA servers every result is sent to, [[target]] sections of the
#   config. Each refers to the one password file written from
#   nsca_password. See Picket::Target.
# @param nsca_password
#   The NSCA password, written to /etc/picket/nsca.secret (root:picket
#   0640). Required when a target uses encryption (the agent's default is
#   xor); with Hiera, use `lookup_options` with `convert_to: Sensitive`.
# @param externals_url
#   Where the agent pulls its checks from ([externals] url).
# @param externals_ca_file
#   A CA certificate file on the host, added to the system's roots for
#   the externals server and registration.
# @param externals_public_key
#   The externals signing key ("ed25519:..." as `picket server keygen`
#   prints it): with it, unsigned externals are refused.
# @param proxy
#   The HTTP proxy the agent reaches the central server through, for
#   externals and registration ([externals] proxy), e.g.
#   'http://proxy.example.com:3128'; 'direct' ignores the environment's
#   proxy variables. undef: the environment's (HTTPS_PROXY, NO_PROXY).
#   Needs externals_url.
# @param registration_url
#   The registration endpoint ([autoreg] url); needs externals_url and
#   registration_token.
# @param registration_token
#   The registration token, written to /etc/picket/register.token
#   (root:picket 0640) and named as [autoreg] token_file.
# @param registration_metadata
#   Tags the central server's profile rules match, one word each.
# @param hostname
#   The name results are reported under; undef lets the agent derive it
#   from the system.
# @param plugin_dirs
#   The folders plugins are looked up in; the first is $USER1$.
# @param plugins
#   Plugins to deploy into /etc/picket/plugins.d, by file name. See
#   Picket::Plugin.
# @param purge_plugins
#   Remove every file in /etc/picket/plugins.d that is not in plugins.
# @param log_level
#   The agent's log level. 'info' is the agent's default and is not
#   written to the file.
# @param log_file
#   A file the agent logs to instead of standard error (the journal).
# @param extra_config
#   TOML appended verbatim to the end of the config, e.g. [[check]],
#   [spool] or [health] sections. It must begin with a table header: keys
#   before one would land in the last section written above it.
# @param manage_service
#   Manage the picket service (and reload or restart it on changes).
# @param service_ensure
#   The service's ensure.
# @param service_enable
#   Whether the service starts at boot.
class picket (
  String[1] $package_ensure = 'installed',
  Optional[Variant[Picket::Path, Pattern[/\A[a-z][a-z0-9+.-]*:\/\/./]]] $package_source = undef,
  String[1] $package_name = 'picket',
  Array[Picket::Target] $targets = [],
  Optional[Sensitive[String[1]]] $nsca_password = undef,
  Optional[Picket::Url] $externals_url = undef,
  Optional[Picket::Path] $externals_ca_file = undef,
  Optional[Pattern[/\Aed25519:[A-Za-z0-9+\/=]+\z/]] $externals_public_key = undef,
  Optional[Variant[Enum['direct'], Pattern[/\A(https?|socks5):\/\/[^\s\/]+\/?\z/]]] $proxy = undef,
  Optional[Picket::Url] $registration_url = undef,
  Optional[Sensitive[String[1]]] $registration_token = undef,
  Array[Pattern[/\A[^\s,]+\z/]] $registration_metadata = [],
  Optional[String[1]] $hostname = undef,
  Array[Picket::Path, 1] $plugin_dirs = ['/usr/lib/nagios/plugins', '/etc/picket/plugins.d'],
  Hash[Pattern[/\A[^\/]+\z/], Picket::Plugin] $plugins = {},
  Boolean $purge_plugins = false,
  Enum['debug', 'info', 'warn', 'error'] $log_level = 'info',
  Optional[Picket::Path] $log_file = undef,
  String $extra_config = '',
  Boolean $manage_service = true,
  Enum['running', 'stopped'] $service_ensure = 'running',
  Boolean $service_enable = true,
) {
  # Where the package puts things; not parameters, because the package
  # and the systemd unit fix them.
  $binary = '/usr/bin/picket'
  $config_dir = '/etc/picket'
  $config_file = "${config_dir}/picket.toml"
  $password_file = "${config_dir}/nsca.secret"
  $token_file = "${config_dir}/register.token"
  $plugins_dir = "${config_dir}/plugins.d"
  $group = 'picket'

  $removed = $package_ensure in ['absent', 'purged']

  unless $removed {
    # Refuse here what the agent would refuse at `picket config check`,
    # with the parameter's name.
    $targets.each |$t| {
      $method = String($t['encryption'].lest || { 'xor' })
      if $nsca_password =~ Undef and !($method in ['none', '0']) {
        fail("picket: target ${t['address']} uses encryption ${method}, which needs nsca_password")
      }
      if $t['port'] =~ Integer and $t['address'] =~ /\A[^:\[\]]+:[0-9]+\z/ {
        fail("picket: target ${t['address']} has a port in address and in port; give it once")
      }
    }
    if $proxy =~ NotUndef and $externals_url =~ Undef {
      fail('picket: proxy needs externals_url: it is how the agent reaches the central server')
    }
    if $registration_url =~ NotUndef {
      if $externals_url =~ Undef {
        fail('picket: registration_url needs externals_url: the agent pulls the externals it is assigned from there')
      }
      if $registration_token =~ Undef {
        fail('picket: registration_url needs registration_token')
      }
    }
    $plugins.each |$name, $p| {
      if ('source' in $p) == ('content' in $p) {
        fail("picket: plugin ${name} needs exactly one of source and content")
      }
    }
  }

  contain picket::install
  unless $removed {
    contain picket::config
    contain picket::service

    Class['picket::install'] -> Class['picket::config'] -> Class['picket::service']
  }
}
