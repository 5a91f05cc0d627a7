# frozen_string_literal: true

require 'spec_helper'

describe 'picket' do
  let(:config) { '/etc/picket/picket.toml' }
  let(:secret) { '/etc/picket/nsca.secret' }
  let(:token) { '/etc/picket/register.token' }

  # The rendered config, as the catalog holds it.
  def rendered(catalogue)
    catalogue.resource('File', '/etc/picket/picket.toml')[:content]
  end

  context 'with defaults' do
    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_package('picket').with(ensure: 'installed', name: 'picket').without([:provider, :source]) }

    it 'writes a config that says it is managed and names only the plugin folders' do
      is_expected.to contain_file(config).with(
        ensure: 'file', owner: 'root', group: 'picket', mode: '0640',
        validate_cmd: '/usr/bin/picket config check %'
      )
      content = rendered(catalogue)
      expect(content).to start_with("# Managed by Puppet")
      expect(content).to include(%(plugin_dirs = ["/usr/lib/nagios/plugins", "/etc/picket/plugins.d"]\n))
      expect(content).not_to match(/^\[/) # no section: the agent's defaults
      expect(content).not_to match(/^hostname/)
    end

    it { is_expected.not_to contain_file(secret) }
    it { is_expected.not_to contain_file(token) }
    it { is_expected.to contain_file('/etc/picket/plugins.d').with(ensure: 'directory', owner: 'root', group: 'root', mode: '0755', purge: false, recurse: false) }
    it { is_expected.to contain_service('picket').with(ensure: 'running', enable: true, hasrestart: true) }
    it { is_expected.to contain_exec('picket-reload').with(command: 'systemctl try-reload-or-restart picket.service', refreshonly: true) }

    it 'installs, then configures, then runs' do
      is_expected.to contain_class('picket::install').that_comes_before('Class[picket::config]')
      is_expected.to contain_class('picket::config').that_comes_before('Class[picket::service]')
    end

    it 'restarts for a new package and reloads for a new config' do
      is_expected.to contain_package('picket').that_notifies('Service[picket]')
      is_expected.to contain_file(config).that_notifies('Exec[picket-reload]')
      is_expected.not_to contain_file(config).that_notifies('Service[picket]')
      is_expected.to contain_exec('picket-reload').that_requires('Service[picket]')
    end
  end

  context 'with targets and secrets' do
    let(:params) do
      {
        targets: [
          { 'address' => 'nagios1.example.com:5667', 'encryption' => 'aes256' },
          { 'address' => 'nagios2a.example.com', 'port' => 5668, 'group' => 'dc2', 'timeout' => '10s' },
          { 'address' => '2001:db8::5', 'port' => 5667, 'group' => 'dc2', 'encryption' => 14, 'legacy' => true },
        ],
        nsca_password: sensitive('s3cret"pw'),
        externals_url: 'https://nagios1.example.com:8443/externals/',
        externals_ca_file: '/etc/picket/ca.pem',
        externals_public_key: 'ed25519:AAAAC3NzaC1lZDI1NTE5AAAAIDV1bm9ybWFsa2V5Zm9ydGVzdHM=',
        proxy: 'http://proxy.example.com:3128',
        registration_url: 'https://nagios1.example.com:8443/v1/register',
        registration_token: sensitive('tok-123'),
        registration_metadata: ['linux', 'web'],
      }
    end

    it { is_expected.to compile.with_all_deps }

    it 'writes each secret root:picket 0640, without a diff' do
      is_expected.to contain_file(secret).with(
        ensure: 'file', owner: 'root', group: 'picket', mode: '0640', show_diff: false,
        content: sensitive('s3cret"pw')
      )
      is_expected.to contain_file(token).with(
        ensure: 'file', owner: 'root', group: 'picket', mode: '0640', show_diff: false,
        content: sensitive('tok-123')
      )
      is_expected.to contain_file(secret).that_comes_before("File[#{config}]")
      is_expected.to contain_file(token).that_comes_before("File[#{config}]")
    end

    it 'names the secret files in the config and never the secrets' do
      content = rendered(catalogue)
      expect(content.scan(%(password_file = "/etc/picket/nsca.secret")).length).to eq(3)
      expect(content).to include(%([autoreg]\nurl = "https://nagios1.example.com:8443/v1/register"\ntoken_file = "/etc/picket/register.token"\nmetadata = ["linux", "web"]\n))
      expect(content).not_to include('s3cret')
      expect(content).not_to include('tok-123')
    end

    it 'renders every target field, joining host and port' do
      content = rendered(catalogue)
      expect(content).to include(%([[target]]\naddress = "nagios1.example.com:5667"\nencryption = "aes256"\npassword_file = "/etc/picket/nsca.secret"\n))
      expect(content).to include(%([[target]]\naddress = "nagios2a.example.com:5668"\ngroup = "dc2"\npassword_file = "/etc/picket/nsca.secret"\ntimeout = "10s"\n))
      expect(content).to include(%([[target]]\naddress = "[2001:db8::5]:5667"\ngroup = "dc2"\nencryption = "14"\npassword_file = "/etc/picket/nsca.secret"\nlegacy = true\n))
      expect(content).to include(%([externals]\nurl = "https://nagios1.example.com:8443/externals/"\nca_file = "/etc/picket/ca.pem"\npublic_key = "ed25519:))
      expect(content).to include(%("\nproxy = "http://proxy.example.com:3128"\n))
    end

    it 'reloads for a new password and a new token' do
      is_expected.to contain_file(secret).that_notifies('Exec[picket-reload]')
      is_expected.not_to contain_file(secret).that_notifies('Service[picket]')
      is_expected.to contain_file(token).that_notifies('Exec[picket-reload]')
    end
  end

  context 'with a host name holding a quote and a backslash' do
    let(:params) { { hostname: %(we"b\\01\n[x]) } }

    it 'escapes it as a TOML basic string' do
      expect(rendered(catalogue)).to include(%(hostname = "we\\"b\\\\01\\n[x]"\n))
    end
  end

  context 'with plugins' do
    let(:params) do
      {
        plugins: {
          'check_hello' => { 'content' => "#!/bin/sh\necho hello\n" },
          'check_copied' => { 'source' => 'puppet:///modules/site/check_copied', 'mode' => '0755' },
        },
        purge_plugins: true,
      }
    end

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_file('/etc/picket/plugins.d/check_hello').with(ensure: 'file', owner: 'root', group: 'picket', mode: '0750', content: "#!/bin/sh\necho hello\n") }
    it { is_expected.to contain_file('/etc/picket/plugins.d/check_copied').with(mode: '0755', source: 'puppet:///modules/site/check_copied') }
    it { is_expected.to contain_file('/etc/picket/plugins.d').with(recurse: true, purge: true, force: true) }
    it 'does not reload for a plugin: the agent looks plugins up at every run' do
      is_expected.not_to contain_file('/etc/picket/plugins.d/check_hello').that_notifies('Exec[picket-reload]')
    end
  end

  context 'with a plugin giving both source and content' do
    let(:params) { { plugins: { 'check_x' => { 'source' => '/tmp/x', 'content' => 'x' } } } }

    it { is_expected.to compile.and_raise_error(/plugin check_x needs exactly one of source and content/) }
  end

  context 'with manage_service false' do
    let(:params) { { manage_service: false, nsca_password: sensitive('pw') } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_service('picket') }
    it { is_expected.not_to contain_exec('picket-reload') }
  end

  context 'with the service stopped and disabled' do
    let(:params) { { service_ensure: 'stopped', service_enable: false } }

    it { is_expected.to contain_service('picket').with(ensure: 'stopped', enable: false) }
  end

  context 'with package_source a local .deb' do
    let(:params) { { package_source: '/tmp/picket_1.2.3_amd64.deb' } }

    it { is_expected.to contain_package('picket').with(provider: 'dpkg', source: '/tmp/picket_1.2.3_amd64.deb') }
    it { is_expected.not_to contain_file('/var/cache/picket') }
  end

  context 'with package_source a URL on Red Hat' do
    let(:facts) { { 'os' => { 'family' => 'RedHat', 'name' => 'RedHat', 'release' => { 'major' => '9' } } } }
    let(:params) { { package_source: 'https://repo.example.com/picket-1.2.3-1.x86_64.rpm', plugin_dirs: ['/usr/lib64/nagios/plugins'] } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_file('/var/cache/picket/picket-1.2.3-1.x86_64.rpm').with(source: 'https://repo.example.com/picket-1.2.3-1.x86_64.rpm').that_comes_before('Package[picket]') }
    it { is_expected.to contain_package('picket').with(provider: 'rpm', source: '/var/cache/picket/picket-1.2.3-1.x86_64.rpm') }
  end

  context 'with package_source on another OS family' do
    let(:facts) { { 'os' => { 'family' => 'Suse' } } }
    let(:params) { { package_source: '/tmp/picket.rpm' } }

    it { is_expected.to compile.and_raise_error(/package_source needs a Debian or Red Hat system/) }
  end

  context 'with package_ensure absent' do
    let(:params) { { package_ensure: 'absent', targets: [{ 'address' => 'n:5667' }] } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_package('picket').with(ensure: 'absent') }
    it { is_expected.not_to contain_file(config) }
    it { is_expected.not_to contain_service('picket') }
  end

  context 'with log settings' do
    let(:params) { { log_level: 'debug', log_file: '/var/log/picket/picket.log' } }

    it { expect(rendered(catalogue)).to include(%([log]\nlevel = "debug"\nfile = "/var/log/picket/picket.log"\n)) }
  end

  context 'with log_level info, the agent default' do
    let(:params) { { log_level: 'info' } }

    it { expect(rendered(catalogue)).not_to include('[log]') }
  end

  context 'with extra_config' do
    let(:params) { { extra_config: "[[check]]\nservice = \"disk_root\"\ncommand = \"check_disk -w 10% -c 5% -p /\"\ninterval = \"1m\"" } }

    it 'appends it verbatim, ending in a newline' do
      expect(rendered(catalogue)).to end_with(%(\n\n[[check]]\nservice = "disk_root"\ncommand = "check_disk -w 10% -c 5% -p /"\ninterval = "1m"\n))
    end
  end

  context 'with an encrypted target and no password' do
    let(:params) { { targets: [{ 'address' => 'nagios:5667' }] } }

    it { is_expected.to compile.and_raise_error(/target nagios:5667 uses encryption xor, which needs nsca_password/) }
  end

  context 'with an unencrypted target and no password' do
    let(:params) { { targets: [{ 'address' => 'nagios:5667', 'encryption' => 'none' }] } }

    it { is_expected.to compile.with_all_deps }
    it { expect(rendered(catalogue)).not_to include('password_file') }
  end

  context 'with a port given twice' do
    let(:params) { { targets: [{ 'address' => 'nagios:5667', 'port' => 5667, 'encryption' => 'none' }] } }

    it { is_expected.to compile.and_raise_error(/has a port in address and in port/) }
  end

  context 'with registration but no externals_url' do
    let(:params) { { registration_url: 'https://hub.example.com/v1/register', registration_token: sensitive('t') } }

    it { is_expected.to compile.and_raise_error(/registration_url needs externals_url/) }
  end

  context 'with a proxy but no externals_url' do
    let(:params) { { proxy: 'http://proxy.example.com:3128' } }

    it { is_expected.to compile.and_raise_error(/proxy needs externals_url/) }
  end

  context 'with a proxy that is no URL' do
    let(:params) { { proxy: 'proxy.example.com:3128', externals_url: 'https://hub.example.com/externals/' } }

    it { is_expected.to compile.and_raise_error(/proxy/) }
  end

  context 'with registration but no token' do
    let(:params) { { registration_url: 'https://hub.example.com/v1/register', externals_url: 'https://hub.example.com/externals/' } }

    it { is_expected.to compile.and_raise_error(/registration_url needs registration_token/) }
  end

  context 'with a plain string as password' do
    let(:params) { { nsca_password: 's3cret' } }

    it { is_expected.to compile.and_raise_error(/nsca_password/) }
  end
end
