import { describe, expect, it } from 'vitest';
import { compileValueTemplate } from '../src/template';

describe('compileValueTemplate', () => {
  it.each([
    [undefined, 'raw', 'raw'],
    ['{{ value }}', '21.5', '21.5'],
    ['{{ value_json.temperature }}', '{"temperature":21.5}', 21.5],
    ['{{value_json.DHT11.Humidity}}', '{"DHT11":{"Humidity":40}}', 40],
    ["{{ value_json['AM2301']['Temperature'] }}", '{"AM2301":{"Temperature":19.1}}', 19.1],
    ['{{ value_json["state"] }}', '{"state":"ON"}', 'ON'],
    ['{{ value_json.list[1] }}', '{"list":[1,2]}', 2],
    ['{{ value_json.t | float }}', '{"t":"21.55"}', 21.55],
    ['{{ value_json.t | round(1) }}', '{"t":21.55}', 21.6],
    ['{{ value_json.t | int }}', '{"t":21.9}', 21],
    ['{{ value_json.s | lower }}', '{"s":"OPEN"}', 'open'],
  ])('%s reads %s as %s', (template, payload, expected) => {
    expect(compileValueTemplate(template)(payload)).toEqual(expected);
  });

  it('gives undefined for a payload that does not fit', () => {
    expect(compileValueTemplate('{{ value_json.a.b }}')('not json')).toBeUndefined();
    expect(compileValueTemplate('{{ value_json.a.b }}')('{"a":1}')).toBeUndefined();
    expect(compileValueTemplate('{{ value_json.a | float }}')('{"a":"warm"}')).toBeUndefined();
  });

  it.each([
    ['{% if value %}on{% endif %}', /expected \{\{ … \}\}/],
    ['{{ states.sensor.x }}', /expected value or value_json/],
    ['{{ value_json.a + 1 }}', /cannot read the path at " \+ 1"/],
    ['{{ value_json.a | timestamp_local }}', /unknown filter "timestamp_local"/],
  ])('refuses %s', (template, message) => {
    expect(() => compileValueTemplate(template)).toThrow(message);
  });
});
