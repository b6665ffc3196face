import React from 'react';
import { Box, Button, Text } from '@adminjs/design-system';
import { useNavigate } from 'react-router';
import { showUrl, usePostAction } from './actions';

const TEXT: Record<string, string> = {
  enable:
    'Enable this endpoint? It receives new events again and its health starts as untested. Deliveries that failed while it was disabled can then be sent again with "Recover failed".',
  disable: 'Disable this endpoint? It receives no events until enabled, and its pending deliveries are marked failed.',
  resetHealth: 'Reset the health counters (failures in a row, last success and failure)? The endpoint stays enabled or disabled as it is.',
  redeliver: 'Send this delivery again, with the same webhook-id, as a new round of the retry schedule?',
};

/** A confirmation step for record actions that change state: a POST, never a GET. */
const ConfirmAction = (props: any) => {
  const { action, resource, record } = props;
  const navigate = useNavigate();
  const { run, busy } = usePostAction(props);
  const confirm = async () => {
    const answer = await run();
    if (answer && answer.notice?.type !== 'error') navigate(`${showUrl(resource.id, record.id)}?refresh=true`);
  };
  return (
    <Box p="xl" data-testid={`confirm-${action.name}`}>
      <Text mb="xl">{TEXT[action.name] ?? `Run "${action.label}" on ${record.title}?`}</Text>
      <Button variant={action.variant === 'danger' ? 'danger' : 'contained'} onClick={confirm} disabled={busy} data-testid="confirm-button">
        {action.label}
      </Button>
    </Box>
  );
};

export default ConfirmAction;
