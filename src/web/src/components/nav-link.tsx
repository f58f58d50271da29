import { Link } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import { navigate } from '../router';

/** A real link (it has an address, opens in a new tab) that navigates inside the app on a plain click. */
export function NavLink(props: { to: string; children: ReactNode; onNavigate?(): void }) {
  return (
    <Link
      href={props.to}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey) return;
        e.preventDefault();
        props.onNavigate?.();
        navigate(props.to);
      }}
    >
      {props.children}
    </Link>
  );
}
