// The decoders against bytes PHP and Python wrote (committed under test/fixtures/sessions, with the
// generators that wrote them), so these checks need neither at run time.
import t from 'tap'
import {
  checkPhpVectors,
  checkPickleVectors,
  type PhpVector,
  type PickleVector,
  readVectors,
} from '../fixtures/sessions/vectors.js'

const fixtures = new URL('../fixtures/sessions/', import.meta.url)

t.test('php vectors: what serialize() and the session handlers wrote decodes to what PHP had', async (t) => {
  checkPhpVectors(t, readVectors<PhpVector>(new URL('php-vectors.json', fixtures)))
})

t.test(
  'pickle vectors: what pickle.dumps and django-redis wrote decodes, hostile ones are refused',
  async (t) => {
    checkPickleVectors(t, readVectors<PickleVector>(new URL('pickle-vectors.json', fixtures)))
  },
)
