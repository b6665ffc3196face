import React, { useState } from 'react';
import { Box, Button, Text } from '@adminjs/design-system';
import { ApiClient, useNotice } from 'adminjs';
import { useNavigate } from 'react-router';

const api = new ApiClient();

/** Confirms a bulk action on the selected records and POSTs it. */
const BulkConfirm = (props: any) => {
  const { action, resource, records } = props;
  const addNotice = useNotice();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      const response = await api.bulkAction({
        resourceId: resource.id,
        actionName: action.name,
        recordIds: records.map((r: any) => r.id),
        data: {},
      });
      if (response.data.notice) addNotice(response.data.notice);
      if (response.data.redirectUrl) navigate(response.data.redirectUrl);
    } catch (error: any) {
      addNotice({ message: error?.message ?? String(error), type: 'error' });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box p="xl" data-testid={`bulk-${action.name}`}>
      <Text mb="lg">
        {action.label}: {records?.length ?? 0} selected
      </Text>
      <ul style={{ marginBottom: 24 }}>
        {(records ?? []).map((r: any) => (
          <li key={r.id}>{r.title}</li>
        ))}
      </ul>
      <Button onClick={confirm} disabled={busy} data-testid="confirm-button">
        {action.label}
      </Button>
    </Box>
  );
};

export default BulkConfirm;
