// Another service asks fiml-cache for fresh data, straight onto the refresh queue.
//
//   REDIS_QUEUE_URL=redis://127.0.0.1:6390 pnpm --filter @fiml/queue run example
//
// The producer validates the request against the same contract the
// batch-scheduler reads, so a mistake fails here, before anything is queued.
import { InvalidJobPayloadError, RefreshProducer } from '@fiml/queue';

const url = process.env.REDIS_QUEUE_URL;
if (!url) {
  console.error('Set REDIS_QUEUE_URL to the queue Redis of a fiml-cache deployment.');
  process.exit(1);
}

const producer = new RefreshProducer({
  connection: url,
  prefix: process.env.QUEUE_PREFIX ?? 'fiml',
});
try {
  const { jobId, request } = await producer.enqueueRefresh({
    symbols: ['aapl', 'MSFT', 'NVDA'],
    assetType: 'equity',
    dataType: 'price',
    priority: 'urgent',
    source: 'portfolio-service',
  });
  console.log(`queued refresh ${jobId} for ${request.symbols.join(', ')} (${request.priority})`);

  await producer.enqueueRefresh({
    symbols: ['BTC'],
    assetType: 'crypto',
    dataType: 'quotes' as 'price',
    source: 'portfolio-service',
  });
} catch (error) {
  if (!(error instanceof InvalidJobPayloadError)) throw error;
  console.log(`refused before queueing: ${error.message}`);
} finally {
  await producer.close();
}
