// Package setup writes an agent's first-contact configuration from the
// handful of settings an unattended installer is given (the MSI's public
// properties): the servers to send to, the NSCA password and method, the
// externals and registration URLs, the registration token and a host name.
//
// Secrets go to files of their own beside the config, readable only by the
// service's account and administrators, so the config itself can be shown
// and diffed. An existing config is kept: upgrades and repairs never undo
// an administrator's edits. On Windows it also sets the service's recovery
// actions and registers its Event Log source.
package setup
