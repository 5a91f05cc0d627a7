# frozen_string_literal: true

# rspec-puppet finds modules by name on a module path. Rather than a
# spec/fixtures tree with a symlink in the working copy, each run links the
# module into a temporary module path of its own, removed at exit; nothing
# is written into the module.
require 'rspec-puppet'
require 'tmpdir'

module_root = File.expand_path('..', __dir__)
module_path = Dir.mktmpdir('picket-rspec-')
File.symlink(module_root, File.join(module_path, 'picket'))
at_exit { FileUtils.rm_rf(module_path) }

RSpec.configure do |c|
  c.module_path = module_path
  c.setup_fixtures = false
  c.strict_variables = true
  c.default_facts = {
    'os' => {
      'family' => 'Debian',
      'name' => 'Debian',
      'release' => { 'major' => '12', 'full' => '12.5' },
    },
    'kernel' => 'Linux',
    'osfamily' => 'Debian',
    'operatingsystem' => 'Debian',
    'path' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  }
end
