# frozen_string_literal: true

require 'spec_helper'

describe 'picket::toml_value' do
  it { is_expected.to run.with_params('web01').and_return('"web01"') }
  it { is_expected.to run.with_params('a"b').and_return('"a\\"b"') }
  it { is_expected.to run.with_params('C:\\picket').and_return('"C:\\\\picket"') }
  it { is_expected.to run.with_params("tab\tnl\ncr\r").and_return('"tab\\tnl\\ncr\\r"') }
  it { is_expected.to run.with_params("nul\u0000esc\u001bdel\u007f").and_return('"nul\\u0000esc\\u001Bdel\\u007F"') }
  it { is_expected.to run.with_params('grüße ✓').and_return('"grüße ✓"') }
  it { is_expected.to run.with_params('').and_return('""') }
  it { is_expected.to run.with_params(42).and_return('42') }
  it { is_expected.to run.with_params(true).and_return('true') }
  it { is_expected.to run.with_params(['a', 'b"']).and_return('["a", "b\\""]') }
  it { is_expected.to run.with_params([]).and_return('[]') }
  it { is_expected.to run.with_params({ 'a' => 1 }).and_raise_error(ArgumentError) }
end
