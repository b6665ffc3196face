import React from 'react';
import { ShowField, StateBadge } from './badges';

const StatusBadge = ({ record, property, where }: any) => (
  <ShowField where={where} property={property}>
    <StateBadge state={String(record?.params?.[property.path] ?? '')} />
  </ShowField>
);

export default StatusBadge;
