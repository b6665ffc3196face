import React, { useState } from 'react';
import { Box, Button, MessageBox, Text } from '@adminjs/design-system';
import { ApiClient, useNotice, ViewHelpers } from 'adminjs';
import { formatDate } from './badges';

export const api = new ApiClient();
export const h = new ViewHelpers();

/** POSTs a record action and returns its answer (the notice is shown here). */
export function usePostAction(props: any) {
  const { resource, record, action } = props;
  const addNotice = useNotice();
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<any>(null);
  const run = async (data: Record<string, unknown> = {}) => {
    setBusy(true);
    try {
      const response = await api.recordAction({ resourceId: resource.id, recordId: record.id, actionName: action.name, data });
      if (response.data.notice) addNotice(response.data.notice);
      setAnswer(response.data);
      return response.data;
    } catch (error: any) {
      addNotice({ message: error?.message ?? String(error), type: 'error' });
      return null;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, answer };
}

export const showUrl = (resourceId: string, recordId: string) => h.recordActionUrl({ resourceId, recordId, actionName: 'show' });

/** A secret shown once, with a copy button. */
export const SecretPanel = ({ secret, note }: { secret: string; note?: string }) => {
  const [copied, setCopied] = useState(false);
  return (
    <Box mt="xl" p="xl" style={{ border: '2px solid #b35c00', borderRadius: 6, background: '#fff8e1' }} data-testid="secret-panel">
      <Text mb="md">
        <strong>Signing secret: copy it now. It is not shown again.</strong>
      </Text>
      <Box flex style={{ gap: 12, alignItems: 'center', flexWrap: 'wrap' }}>
        <code
          data-testid="secret-value"
          style={{ fontSize: 14, padding: '6px 10px', background: '#fff', border: '1px solid #e1e4e8', borderRadius: 4, userSelect: 'all' }}
        >
          {secret}
        </code>
        <Button
          type="button"
          size="sm"
          variant="outlined"
          onClick={() =>
            navigator.clipboard?.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </Box>
      {note ? <Text mt="md">{note}</Text> : null}
    </Box>
  );
};

export const Expiry = ({ at }: { at: string | null }) =>
  at ? (
    <Text mt="md" data-testid="grace-end">
      The previous secrets keep signing until {formatDate(at)}.
    </Text>
  ) : (
    <Text mt="md">There was no previous secret.</Text>
  );

export const ErrorBox = ({ message }: { message?: string }) => (message ? <MessageBox mt="lg" variant="danger" message={message} /> : null);
