# @summary Runs the picket service, restarts it for a new package and
#   reloads it (SIGHUP) for a new config, NSCA password or token.
#
# Two resources, because Puppet gives a service one refresh action: the
# service's own (systemctl restart) for what a reload cannot apply, and a
# refresh-only exec for what it can. try-reload-or-restart does nothing
# while the service is stopped, so a stopped agent stays stopped.
#
# @api private
class picket::service {
  if $picket::manage_service {
    service { 'picket':
      ensure     => $picket::service_ensure,
      enable     => $picket::service_enable,
      hasstatus  => true,
      hasrestart => true,
    }
    exec { 'picket-reload':
      command     => 'systemctl try-reload-or-restart picket.service',
      path        => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'],
      refreshonly => true,
      require     => Service['picket'],
    }

    Package['picket'] ~> Service['picket']
    File[$picket::config_file] ~> Exec['picket-reload']
    if $picket::nsca_password =~ NotUndef {
      File[$picket::password_file] ~> Exec['picket-reload']
    }
    if $picket::registration_token =~ NotUndef {
      File[$picket::token_file] ~> Exec['picket-reload']
    }
  }
}
