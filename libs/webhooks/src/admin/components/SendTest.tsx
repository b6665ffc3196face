import React from 'react';
import { Box, Button, Text } from '@adminjs/design-system';
import { Code, StateBadge, pretty } from './badges';
import { showUrl, usePostAction } from './actions';

/** Sends a signed test event now and shows what the endpoint answered. */
const SendTest = (props: any) => {
  const { record } = props;
  const { run, busy, answer } = usePostAction(props);
  const result = answer?.result;
  return (
    <Box p="xl" data-testid="send-test">
      <Text mb="lg">
        Sends a signed <code>webhook.test</code> event to <code>{record.params.url}</code> now, outside the queue. It is logged as a
        delivery (trigger <code>test</code>), is not retried, and does not change the endpoint's health.
      </Text>
      <Button onClick={() => run()} disabled={busy} data-testid="send-test-button">
        {busy ? 'Sending…' : 'Send test event'}
      </Button>
      {result ? (
        <Box mt="xl" data-testid="test-result">
          <Box flex style={{ gap: 16, alignItems: 'center', flexWrap: 'wrap' }} mb="md">
            <StateBadge state={result.ok ? 'succeeded' : 'failed'} />
            <span data-testid="test-status">
              status: <strong>{result.status ?? 'no response'}</strong>
            </span>
            <span data-testid="test-duration">{result.durationMs} ms</span>
            <a href={showUrl('WebhookDelivery', result.deliveryId)}>delivery log</a>
          </Box>
          {result.error ? (
            <Text mb="md" style={{ color: '#c62828' }}>
              {result.error}
            </Text>
          ) : null}
          {result.responseBody ? (
            <Code text={pretty(result.responseBody)} limit={4000} testId="test-body" />
          ) : (
            <Text>No response body.</Text>
          )}
        </Box>
      ) : null}
    </Box>
  );
};

export default SendTest;
