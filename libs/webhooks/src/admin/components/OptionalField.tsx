import React from 'react';
import { BasePropertyComponent } from 'adminjs';
import { ValueGroup } from '@adminjs/design-system';
import { usePropertyLabel } from './badges';

/**
 * A property shown as AdminJS shows it, or not at all when it has no value: a healthy endpoint's page does not list
 * "Failing since", "Disabled at" and the other fields that only matter when something is wrong. With
 * `custom.emptyText`, an empty value is shown as that text instead (where empty means something).
 */
const OptionalField = (props: any) => {
  const { record, property } = props;
  const label = usePropertyLabel(property);
  const params = record?.params ?? {};
  const value = params[property.path];
  const nested = Object.keys(params).some((key) => key.startsWith(`${property.path}.`));
  if ((value === null || value === undefined || value === '') && !nested) {
    return property.custom?.emptyText ? <ValueGroup label={label} value={property.custom.emptyText} /> : null;
  }
  return <BasePropertyComponent {...props} property={{ ...property, components: undefined }} />;
};

export default OptionalField;
