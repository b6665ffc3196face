import React from 'react';
import { ShowField, StateBadge } from './badges';

const HealthBadge = ({ record, property, where }: any) => {
  const failures = Number(record?.params?.consecutiveFailures ?? 0);
  return (
    <ShowField where={where} property={property}>
      <span style={{ display: 'inline-flex', gap: 8, alignItems: 'center' }}>
        <StateBadge state={record?.params?.[property.path] ?? 'untested'} />
        {failures > 0 ? <small>{failures} failed in a row</small> : null}
      </span>
    </ShowField>
  );
};

export default HealthBadge;
