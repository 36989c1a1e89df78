"""SAML 2.0 single sign-on per organization (python3-saml): IdP configuration, SP metadata, ACS, replay cache, JIT."""
