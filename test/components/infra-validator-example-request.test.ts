import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { curlCommand, exampleRequest } from '../../components/infra-validator/example-request';
import { MISSING_INSTANT, type TensorSpec } from '../../components/transform/signature';

const inputs: TensorSpec[] = [
  { name: 'Beak Length (mm)', dtype: 'float32', shape: [-1] },
  { name: 'Island', dtype: 'string', shape: [-1] },
  { name: 'date', dtype: 'int64', shape: [-1] },
];

describe("the InfraValidator's example request (the row `mlpipe run --serve` prints as a curl)", () => {
  it('is the first row with every feature present, floats written as the shortest decimal that is the same float32', () => {
    const columns = [
      Float32Array.from([NaN, 39.1, 40.3, 41]),
      ['Biscoe', '', "Dream's", 'Torgersen'],
      BigInt64Array.from([1n, 2n, 978307200000000n, 4n]),
    ];
    assert.deepEqual(exampleRequest(inputs, columns, 4), { instances: [{ 'Beak Length (mm)': 40.3, Island: "Dream's", date: 978307200000000 }] });
    assert.equal(Math.fround(40.3), columns[0]![2], 'the float32 the row holds reads back from 40.3');
  });

  it('is absent when every row misses a value (JSON has no NaN) or an instant does not fit a JSON number', () => {
    assert.equal(exampleRequest(inputs, [Float32Array.from([1, 2]), ['a', 'b'], BigInt64Array.from([MISSING_INSTANT, MISSING_INSTANT])], 2), undefined);
    assert.equal(exampleRequest(inputs, [Float32Array.from([1]), ['a'], BigInt64Array.from([2n ** 60n])], 1), undefined);
  });

  it('the curl is one line a shell reads back as the same JSON body, quotes in strings included', () => {
    const request = { instances: [{ Island: "Dream's", 'Beak Length (mm)': 40.3 }] };
    const curl = curlCommand('http://127.0.0.1:8000', 'penguins', request);
    assert.ok(!curl.includes('\n'));
    assert.ok(curl.startsWith("curl -s http://127.0.0.1:8000/v1/models/penguins:predict -d '"));
    // The body as bash hands it to curl: its fourth argument once the shell's quoting is undone.
    const body = execFileSync('bash', ['-c', `set -- ${curl.slice('curl '.length)}; printf '%s' "$4"`], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(body), request);
  });
});
