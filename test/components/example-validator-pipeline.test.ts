import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleAnomaliesSchema } from '../../components/example-validator/payload';
import { ExampleValidator } from '../../components/example-validator/spec';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { pipeline } from '../../dsl/compile';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { tempDir } from '../support/tmp';
import { AfterValidation } from './example-validator-downstream';
import { vegaFile } from './vega-data';

type Penguin = Record<string, string | number | null>;
const states = (s: { nodes: Record<string, { state: string }> }) => Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));

describe('ExampleValidator in a pipeline: the gate stops the run before the next node', function () {
  let stack: TestStack;
  let dir: string;
  let renamed: number;

  before(async () => {
    stack = await startTestStack();
    stack.registry.register(AfterValidation.spec);
    await stack.addWorkers(['control', 'cpu']);
    dir = await tempDir('validator-pipeline');
    const penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[];
    // eval: every fourth penguin, with Dream's light penguins on an island the schema never saw; train: the
    // rest, holding the two penguins without measurements and the Sex of '.', so the schema allows them.
    const inEval = (i: number) => i % 4 === 1;
    const train = penguins.filter((_, i) => !inEval(i));
    const evalRows = penguins.filter((_, i) => inEval(i)).map((p) => (p.Island === 'Dream' && Number(p['Body Mass (g)']) < 3800 ? { ...p, Island: 'Dream Island' } : p));
    renamed = evalRows.filter((p) => p.Island === 'Dream Island').length;
    await writeFile(path.join(dir, 'train.json'), JSON.stringify(train));
    await writeFile(path.join(dir, 'eval.json'), JSON.stringify(evalRows));
  });
  after(async () => stack?.stop());

  it('ExampleGen → StatisticsGen → SchemaGen → ExampleValidator: blocked, anomalies published, the next node skipped', async () => {
    const examples = ExampleGen('example_gen', { parameters: { input: { train: path.join(dir, 'train.json'), eval: path.join(dir, 'eval.json') } } });
    const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
    const schema = SchemaGen('schema_gen', { inputs: { statistics: statistics.outputs.statistics } });
    const validator = ExampleValidator('example_validator', { inputs: { statistics: statistics.outputs.statistics, schema: schema.outputs.schema } });
    const next = AfterValidation('trainer', { inputs: { anomalies: validator.outputs.anomalies } });
    const outcome = await stack.run(pipeline({ name: 'validated', nodes: [examples, statistics, schema, validator, next] }));

    assert.deepEqual(states(outcome.status), { example_gen: 'succeeded', statistics_gen: 'succeeded', schema_gen: 'succeeded', example_validator: 'blocked', trainer: 'skipped' });
    assert.equal(outcome.status.state, 'failed');
    assert.equal(outcome.status.nodes.example_validator!.error, '1 ERROR anomaly: Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES');
    assert.match(outcome.error ?? '', /node 'example_validator' blocked: 1 ERROR anomaly: Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES/);
    assert.equal(outcome.status.nodes.trainer!.error, "blocked by 'example_validator'");

    const [uri] = outcome.status.nodes.example_validator!.outputs!.anomalies!;
    assert.ok(await stack.store.readManifest(uri!), 'the anomalies artifact is committed');
    const published = ExampleAnomaliesSchema.parse(JSON.parse((await stack.store.getObjectBuffer(`${stack.store.keyFor(uri!)}/anomalies.json`)).toString('utf8')));
    const evalAnomalies = published.splits.find((s) => s.name === 'eval')!.anomalies;
    assert.deepEqual(evalAnomalies.map((a) => [a.kind, a.feature, a.severity]), [['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'ERROR']]);
    assert.match(evalAnomalies[0]!.description, new RegExp(`^Island: [\\d.]+% of values \\(${renamed} of 86\\) are 'Dream Island', not in the domain \\[Biscoe, Dream, Torgersen\\]`));
    assert.deepEqual(published.splits.find((s) => s.name === 'train')!.anomalies, [], 'the training data passes its own schema');

    const run = await stack.metadata.getRun((await outcome.handle.describe()).runId);
    assert.equal(run!.run.state, 'failed', 'a blocked run is a failed run');
    assert.equal(run!.executions.find((e) => e.nodeId === 'example_validator')!.blocked, outcome.status.nodes.example_validator!.error);
    assert.equal(run!.executions.find((e) => e.nodeId === 'trainer'), undefined, 'the next node never ran');
  });
});
